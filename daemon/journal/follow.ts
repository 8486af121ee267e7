import type { Journals } from "./journals.js";
import type { Cursor, JournalRecord } from "./types.js";

/** Why the live phase of a follow stops. Made once: abort() without a reason builds a DOMException, stack and all, every time. */
const UNTIL_REACHED = new Error("the followed journal's end condition was reached");

/**
 * Reads a journal from a cursor. With `until`, follows it live until the
 * promise `until` returns settles (the writer is done), then reads what was
 * committed up to that moment and ends: nothing written before the end is
 * missed, and the reader never waits past it. A journal not written yet
 * reads as empty. `options` as journals.read's.
 */
export async function* followUntil(
  journals: Journals,
  journal: string,
  cursor: Cursor,
  until: ((signal: AbortSignal) => Promise<void>) | undefined,
  signal: AbortSignal,
  options: { readonly queueBytes?: number | undefined; readonly skipDropped?: boolean | undefined } = {},
): AsyncGenerator<readonly JournalRecord[]> {
  let position = cursor;
  if (until !== undefined) {
    const done = new AbortController();
    const stop = AbortSignal.any([signal, done.signal]);
    void until(stop).then(() => done.abort(UNTIL_REACHED));
    try {
      for await (const batch of journals.read(journal, { cursor: position, follow: true, waitForJournal: true, signal: stop, ...options })) {
        const last = batch.records.at(-1);
        if (last !== undefined) {
          position = { kind: "sequence", seq: last.seq + 1 };
          yield batch.records;
        }
      }
    } catch (error) {
      if (!done.signal.aborted || signal.aborted) throw error;
    }
  }
  if (!journalExists(journals, journal)) return;
  for await (const batch of journals.read(journal, { cursor: position, follow: false, signal, skipDropped: options.skipDropped })) yield batch.records;
}

function journalExists(journals: Journals, journal: string): boolean {
  try {
    journals.get(journal);
    return true;
  } catch {
    return false;
  }
}
