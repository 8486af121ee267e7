import { Code } from "@connectrpc/connect";
import { TetherError } from "../errors.js";
import type { Journals } from "../journal/journals.js";
import type { ProcessKind } from "./process-refs.js";

/** What removing an exec or PTY takes: whether it still runs, its output journal, and its row's deletion. */
export interface Removal {
  readonly id: string;
  /** What stops it, when it still runs ("kill it with tether exec kill e-x"): undefined once it has ended. */
  readonly stopFirst: string | undefined;
  readonly journal: string;
  /** Deletes its row; false when there was none (another removal took it). */
  readonly deleteRow: () => boolean;
}

/**
 * Removes an ended exec or PTY with its output, as `docker rm` removes a
 * container's logs: its row and its output journal go in one fsynced
 * commit, then the journal's data files. One whose process still runs is
 * refused. Resolves with the bytes of output removed.
 */
export async function removeEnded(kind: ProcessKind, journals: Journals, removal: Removal): Promise<number> {
  if (removal.stopFirst !== undefined) {
    throw new TetherError(Code.FailedPrecondition, "STILL_RUNNING", `${kind.noun} ${removal.id} is still running: ${removal.stopFirst}, then remove it`, { [kind.field]: removal.id });
  }
  let deleted = false;
  const bytes = await journals.remove([removal.journal], () => (deleted = removal.deleteRow()));
  if (!deleted) throw new TetherError(Code.NotFound, kind.notFoundReason, `${kind.noun} ${removal.id} was removed already`, { [kind.field]: removal.id });
  return bytes;
}
