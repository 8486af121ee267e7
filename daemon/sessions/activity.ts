import { formatMs } from "../tasks/duration.js";
import type { Activity, RunRecord } from "./types.js";

/** What an open session's activity is derived from. */
export interface ActivityFacts {
  readonly open: boolean;
  /** The runs not in a final status (the others never count). */
  readonly runs: Iterable<RunRecord>;
  /** Runs whose process runs but whose readiness checks have not passed yet. */
  readonly awaitingReadiness: ReadonlySet<number>;
  /** Tasks waiting out a retry delay, and when the retry starts. */
  readonly retries: ReadonlyMap<string, { readonly at: number }>;
  /** What each waiting run waits for, by run number ("input on approval"). */
  readonly waits: ReadonlyMap<number, string>;
}

/**
 * The session's activity, never stored by hand: `running` when a run runs
 * (or a service is ready), else `waiting` on input, readiness checks or
 * retry timers (saying which), else `queued` while runs wait for upstreams
 * or a slot, else `idle`.
 */
export function deriveActivity(facts: ActivityFacts, now: number): { activity: Activity; waitingFor: string } {
  if (!facts.open) return { activity: "idle", waitingFor: "" };
  // One pass, which the first run that runs ends.
  const readiness: string[] = [];
  let queued = false;
  for (const r of facts.runs) {
    if (r.status === "ready" || (r.status === "running" && !facts.awaitingReadiness.has(r.number))) return { activity: "running", waitingFor: "" };
    if (r.status === "running") readiness.push(`readiness of ${r.task}`);
    if (r.status === "pending" || r.status === "queued") queued = true;
  }
  const waits = [
    ...[...facts.waits].map(([run, what]) => `${what} (run ${run})`),
    ...readiness,
    ...[...facts.retries].map(([task, { at }]) => `retry of ${task} in ${formatMs(Math.max(0, at - now))}`),
  ];
  if (waits.length > 0) return { activity: "waiting", waitingFor: waits.join(", ") };
  if (queued) return { activity: "queued", waitingFor: "" };
  return { activity: "idle", waitingFor: "" };
}
