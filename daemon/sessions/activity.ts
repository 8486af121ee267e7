import { formatMs } from "../../common/format.js";
import type { Activity, RunRecord } from "./types.js";

/** What an open session's activity is derived from. */
export interface ActivityFacts {
  readonly open: boolean;
  /** The runs whose process is alive (running, ready, waiting). */
  readonly live: Iterable<RunRecord>;
  /** The graph has an outcome (a keep_open session): services still ready only wait, as the session does, for what comes next. */
  readonly graphFinished: boolean;
  /** Whether a run is yet to start: pending on upstreams or queued for a slot. */
  readonly runsToStart: boolean;
  /** Runs whose process runs but whose readiness checks have not passed yet. */
  readonly awaitingReadiness: ReadonlySet<number>;
  /** Tasks waiting out a retry delay, and when the retry starts. */
  readonly retries: ReadonlyMap<string, { readonly at: number }>;
  /** What the session's start waits for, while it does (its time, sessions to end: SessionTimers): nothing of its graph has started. */
  readonly startWaitingFor?: string | undefined;
  /** What each waiting run waits for, by run number ("input on approval"). */
  readonly waits: ReadonlyMap<number, string>;
  /** What each run waiting its turn in a queue waits for, by run number ("a slot in queue gpu"). */
  readonly queues: ReadonlyMap<number, string>;
}

/**
 * The session's activity, never stored by hand: `waiting` for its start
 * (a time, sessions to end) while that is to come, else while a run waits
 * for input (someone has to send it, whatever else runs meanwhile: a ready
 * dev server in the background must not hide an approval asked for), else
 * `running` when a run runs (or a service is ready, while the graph has not
 * finished: a keep_open session's services left ready once it has are idle
 * with it, and its idle timeout counts), else `waiting` on
 * readiness checks or retry timers, else `queued` while runs wait for
 * upstreams or a slot (a queue's, said), else `idle`. A waiting session says for what.
 */
export function deriveActivity(facts: ActivityFacts, now: number): { activity: Activity; waitingFor: string } {
  if (!facts.open) return { activity: "idle", waitingFor: "" };
  if (facts.startWaitingFor !== undefined) return { activity: "waiting", waitingFor: facts.startWaitingFor };
  const inputs = [...facts.waits].map(([run, what]) => `${what} (run ${run})`);
  if (inputs.length > 0) return { activity: "waiting", waitingFor: inputs.join(", ") };
  const readiness: string[] = [];
  for (const r of facts.live) {
    if (r.status === "ready") {
      if (facts.graphFinished) continue;
      return { activity: "running", waitingFor: "" };
    }
    if (r.status === "running" && !facts.awaitingReadiness.has(r.number)) return { activity: "running", waitingFor: "" };
    if (r.status === "running") readiness.push(`readiness of ${r.task}`);
  }
  const timers = [...readiness, ...[...facts.retries].map(([task, { at }]) => `retry of ${task} in ${formatMs(Math.ceil(Math.max(0, at - now) / 1000) * 1000)}`)];
  if (timers.length > 0) return { activity: "waiting", waitingFor: timers.join(", ") };
  const slots = [...facts.queues].map(([run, what]) => `${what} (run ${run})`);
  if (slots.length > 0) return { activity: "queued", waitingFor: slots.join(", ") };
  if (facts.runsToStart) return { activity: "queued", waitingFor: "" };
  return { activity: "idle", waitingFor: "" };
}
