import { Code } from "@connectrpc/connect";
import { TetherError } from "../errors.js";
import type { RunStatus, SessionStatus } from "./types.js";

/** Which run statuses may follow which: the run lifecycle, as a table. */
const RUN_TRANSITIONS: Readonly<Record<RunStatus, readonly RunStatus[]>> = {
  pending: ["queued", "skipped", "cancelled", "lost"],
  queued: ["running", "skipped", "cancelled", "lost"],
  running: ["ready", "waiting", "succeeded", "failed", "cancelled", "lost"],
  ready: ["waiting", "succeeded", "failed", "cancelled", "lost"],
  waiting: ["running", "ready", "succeeded", "failed", "cancelled", "lost"],
  succeeded: [],
  failed: [],
  skipped: [],
  cancelled: [],
  lost: [],
};

/** Throws when a run may not go from `from` to `to`: a daemon bug, never a silent no-op. */
export function assertRunTransition(run: number, from: RunStatus, to: RunStatus): void {
  if (!RUN_TRANSITIONS[from].includes(to)) {
    throw new TetherError(Code.FailedPrecondition, "INVALID_ARGUMENT", `run ${run} cannot go from ${from} to ${to}`, { run: String(run), status: from });
  }
}

/** A session leaves `open` once; every other status is final. */
export function assertSessionOpen(id: string, status: SessionStatus, action: string): void {
  if (status !== "open") {
    throw new TetherError(
      Code.FailedPrecondition,
      "SESSION_NOT_OPEN",
      `cannot ${action} session ${id}: it is already ${status}; only open sessions can be ${action === "cancel" ? "cancelled" : `${action}d`}`,
      { session: id, status },
    );
  }
}
