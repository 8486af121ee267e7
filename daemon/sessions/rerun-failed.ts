import { Code } from "@connectrpc/connect";
import { TetherError } from "../errors.js";
import type { RunRecord, SessionRecord } from "./types.js";

/** What a rerun of only what did not succeed keeps of the session it runs again. */
export interface FailedRerun {
  /** The tasks done already, each with the reason its run says so. */
  readonly carried: ReadonlyMap<string, string>;
  /** The tasks that run again. */
  readonly again: ReadonlySet<string>;
}

/**
 * What `tether rerun S --failed` runs again of session `original` (whose
 * runs are `runs`), as GitHub's "Re-run failed jobs": each task whose last
 * run did not succeed, each task downstream of one (in the graph's order,
 * upstreams first), then each service (a task with readiness checks) that
 * one of those needs running, and the services those need: a service ran
 * only while its session did. The rest are carried. Refused while the
 * graph runs (STILL_RUNNING) and when every task succeeded
 * (NOTHING_TO_RERUN).
 */
export function failedRerun(original: SessionRecord, runs: readonly RunRecord[]): FailedRerun {
  const { id, spec } = original;
  if (original.status === "open" && original.exitCode === undefined) {
    throw new TetherError(Code.FailedPrecondition, "STILL_RUNNING", `session ${id} has no outcome yet (its graph runs): rerun --failed takes what did not succeed once it has one (tether show ${id} --wait)`, { session: id });
  }
  const last = new Map(runs.map((run) => [run.task, run.status]));
  const again = new Set<string>();
  for (const task of spec.tasks) if (last.get(task.name) !== "succeeded" || task.upstream.some((up) => again.has(up))) again.add(task.name);
  if (again.size === 0) {
    throw new TetherError(Code.FailedPrecondition, "NOTHING_TO_RERUN", `every task of session ${id} succeeded: nothing failed to run again (tether rerun ${id} runs them all)`, { session: id });
  }
  const byName = new Map(spec.tasks.map((task) => [task.name, task]));
  for (const task of [...spec.tasks].reverse()) {
    if (!again.has(task.name)) continue;
    for (const up of task.upstream) if (byName.get(up)?.readiness !== undefined) again.add(up);
  }
  const carried = new Map(spec.tasks.filter((task) => !again.has(task.name)).map((task) => [task.name, `succeeded in ${id} (rerun --failed runs what did not)`]));
  return { carried, again };
}
