import { Code } from "@connectrpc/connect";
import { TetherError, invalidArgument } from "../errors.js";
import type { JournalState, JournalTables } from "./journal-tables.js";
import type { Cursor } from "./types.js";

/** Where a reader stands, in the unit its cursor was given in (what a cursor error names). */
export type Place = { readonly kind: "sequence"; readonly seq: number } | { readonly kind: "offset"; readonly offset: number };

/** Names a journal as its reader knows it (an exec's output, a session's stream): see Journals' constructor. */
export type DescribeJournal = (name: string) => string;

/** Where a read from `cursor` starts: the record's sequence, and the offset inside it for an offset cursor; a cursor outside what is kept fails. */
export function resolveCursor(tables: JournalTables, state: JournalState, cursor: Cursor, describe: DescribeJournal): { seq: number; offset?: number } {
  switch (cursor.kind) {
    case "start":
      return { seq: state.firstSeq };
    case "sequence":
      if (cursor.seq < 1) throw invalidArgument("sequence", "sequences start at 1: pass 1 (or no cursor) to read from the start");
      if (cursor.seq < state.firstSeq) throw cursorExpired(state, cursor, describe);
      if (cursor.seq > state.nextSeq) throw cursorPastEnd(state, cursor, describe);
      return { seq: cursor.seq };
    case "offset": {
      if (cursor.offset < state.firstOffset) throw cursorExpired(state, cursor, describe);
      if (cursor.offset > state.nextOffset) throw cursorPastEnd(state, cursor, describe);
      if (cursor.offset === state.nextOffset) return { seq: state.nextSeq };
      return { seq: tables.seqContaining(state, cursor.offset), offset: cursor.offset };
    }
  }
}

/** Whether `cursor` names records retention has dropped. */
export function isDropped(state: JournalState, cursor: Cursor): boolean {
  return (cursor.kind === "sequence" && cursor.seq >= 1 && cursor.seq < state.firstSeq) || (cursor.kind === "offset" && cursor.offset < state.firstOffset);
}

/** A place retention has dropped: the error names the earliest one kept, in the place's unit. */
export function cursorExpired(state: JournalState, place: Place, describe: DescribeJournal): TetherError {
  const earliest = place.kind === "sequence" ? `sequence ${state.firstSeq}` : `offset ${state.firstOffset}`;
  return new TetherError(
    Code.OutOfRange,
    "CURSOR_EXPIRED",
    `${placeWords(place)} of ${describe(state.name)} is no longer retained: the earliest available is ${earliest}`,
    { journal: state.name, earliest_sequence: String(state.firstSeq), earliest_offset: String(state.firstOffset) },
  );
}

function cursorPastEnd(state: JournalState, place: Place, describe: DescribeJournal): TetherError {
  const end = place.kind === "sequence" ? `the next record will be sequence ${state.nextSeq}` : `it ends at offset ${state.nextOffset} so far`;
  return new TetherError(
    Code.OutOfRange,
    "CURSOR_PAST_END",
    `${placeWords(place)} is past the end of ${describe(state.name)}: ${end}`,
    { journal: state.name, next_sequence: String(state.nextSeq), next_offset: String(state.nextOffset) },
  );
}

function placeWords(place: Place): string {
  return place.kind === "sequence" ? `sequence ${place.seq}` : `offset ${place.offset}`;
}
