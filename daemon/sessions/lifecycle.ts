import { Code } from "@connectrpc/connect";
import { TetherError } from "../errors.js";
import { LIVE_RUN_STATUSES, type RunRecord, type RunStatus, type SessionStatus } from "./types.js";

/** Which run statuses may follow which: the run lifecycle, as a table. */
const RUN_TRANSITIONS: Readonly<Record<RunStatus, readonly RunStatus[]>> = {
  // pending to succeeded: a group's (no cmd), once its upstreams are done (RunGraph.pendingFate).
  pending: ["queued", "succeeded", "skipped", "cancelled", "lost"],
  queued: ["running", "skipped", "cancelled", "lost"],
  running: ["ready", "waiting", "succeeded", "failed", "cancelled", "lost"],
  // ready to ready: its health checks found it unhealthy, or healthy again (run-wiring.ts).
  ready: ["ready", "waiting", "succeeded", "failed", "cancelled", "lost"],
  waiting: ["running", "ready", "succeeded", "failed", "cancelled", "lost"],
  succeeded: [],
  failed: [],
  skipped: [],
  cancelled: [],
  lost: [],
};

/** The exit code a followed session reports when it was cancelled, as a shell reports Ctrl-C. */
export const CANCELLED_EXIT_CODE = 130;

/** Throws when a run may not go from `from` to `to`: a daemon bug, never a silent no-op. */
export function assertRunTransition(run: number, from: RunStatus, to: RunStatus): void {
  if (!RUN_TRANSITIONS[from].includes(to)) {
    throw new TetherError(Code.FailedPrecondition, "INVALID_ARGUMENT", `run ${run} cannot go from ${from} to ${to}`, { run: String(run), status: from });
  }
}

/** A session leaves `open` once; every other status is final. */
export function assertSessionOpen(id: string, status: SessionStatus, action: "cancel" | "close" | "start"): void {
  if (status !== "open") {
    throw new TetherError(
      Code.FailedPrecondition,
      "SESSION_NOT_OPEN",
      `cannot ${action} session ${id}: it is already ${status}; only open sessions can be ${{ cancel: "cancelled", close: "closed", start: "started" }[action]}`,
      { session: id, status },
    );
  }
}

/** RUN_NOT_FOUND for run `runNumber` of a session that has `count` runs, saying which it has. */
export function noSuchRun(session: string, runNumber: number, count: number): TetherError {
  const has = count === 0 ? "it has none yet" : count === 1 ? "it has run 1" : `it has runs 1-${count}`;
  return new TetherError(Code.NotFound, "RUN_NOT_FOUND", `session ${session} has no run ${runNumber}: ${has}`, { run: String(runNumber) });
}

/**
 * What a task's run does from inside (wait, write output) needs the run
 * live: among `runs`, and with its process (`live`, whatever the caller keeps
 * for it) while its status is a live one.
 */
export function assertRunLive<Live>(session: string, runs: readonly RunRecord[], runNumber: number, live: Live | undefined, action: string): asserts live is Live {
  const run = runs[runNumber - 1];
  if (run === undefined) throw noSuchRun(session, runNumber, runs.length);
  if (live === undefined || !LIVE_RUN_STATUSES.has(run.status)) {
    throw new TetherError(
      Code.FailedPrecondition,
      "RUN_NOT_LIVE",
      `run ${runNumber} (${run.task}) of session ${session} is ${run.status}, not running: only a live run can ${action} (tether ${action === "wait" ? "wait" : "output"} runs inside a task)`,
      { run: String(runNumber), status: run.status },
    );
  }
}
