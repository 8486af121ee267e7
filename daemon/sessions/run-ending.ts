import { formatMs } from "../../common/format.js";
import { describeEnd, type ProcessEnd } from "../process/child-process.js";
import type { TaskDef } from "../tasks/types.js";
import type { RunStatus } from "./types.js";

/** How the daemon came to end a run, when it did (LiveRun's stopAs and killedFor). */
export interface EndedBy {
  /** Stopped on purpose (a cancel, the session's end, fail-fast, its workspace stopped): it ends so. */
  readonly stopAs: { readonly status: RunStatus; readonly reason: string } | undefined;
  /** Killed for a reason of its own (a timeout, not ready in time): it failed, and may be retried. */
  readonly killedFor: string | undefined;
}

/** What a run's end makes of it. */
export type RunEnding =
  | { readonly t: "stopped"; readonly status: RunStatus; readonly reason: string }
  | { readonly t: "succeeded"; readonly reason: string }
  | { readonly t: "retry"; readonly reason: string; readonly attempt: number }
  | { readonly t: "failed"; readonly reason: string }
  /** Failed for good, and its task allows it (allow_failure): the graph goes on as if it succeeded. */
  | { readonly t: "allowed"; readonly reason: string };

/**
 * Decides a run's final status from how its process ended: as it was stopped,
 * if it was; succeeded on exit 0 (unless the daemon killed it); else failed,
 * with a retry while attempts are left and the session is open (its last
 * failure allowed when its task says allow_failure). `lost` says
 * what of its output could not be stored, appended to the reason.
 */
export function runEnding(end: ProcessEnd, by: EndedBy | undefined, task: TaskDef, attempt: number, sessionOpen: boolean, lost?: string): RunEnding {
  const andLost = lost === undefined ? "" : `; ${lost}`;
  if (by?.stopAs !== undefined) return { t: "stopped", status: by.stopAs.status, reason: `${by.stopAs.reason}${andLost}` };
  if (by?.killedFor === undefined && end.t === "exited" && end.code === 0) return { t: "succeeded", reason: `exited with code 0${andLost}` };
  const why = `${by?.killedFor ?? describeEnd(end)}${andLost}`;
  if (attempt > task.retries || !sessionOpen) return task.allowFailure === true ? { t: "allowed", reason: `${why}; allowed to fail (allow_failure): the graph goes on` } : { t: "failed", reason: why };
  const delay = task.retryDelayMs > 0 ? ` in ${formatMs(task.retryDelayMs)}` : "";
  return { t: "retry", reason: `${why}; retrying${delay} (attempt ${attempt + 1} of ${task.retries + 1})`, attempt: attempt + 1 };
}
