import { followUntil } from "../journal/follow.js";
import type { Journals } from "../journal/journals.js";
import type { JournalRecord } from "../journal/types.js";
import type { PacingClient } from "./output-pacer.js";
import type { OutputPiece, OutputTap, TapReader } from "./output-tap.js";
import type { OutputWriter } from "./output-writer.js";

/**
 * A process whose output is still coming: its writer, its end (settles once
 * the end is recorded and the tap ended), and its tap when its clients may
 * see output before it is stored (a terminal's; an exec's clients see only
 * what is committed, so what they saw survives a crash of the daemon).
 */
export interface LiveOutput {
  readonly tap?: OutputTap;
  readonly writer: OutputWriter;
  readonly ended: Promise<unknown>;
}

/** How a client follows a process's output. */
export interface FollowOptions {
  /** The exec's own client, which paces the process (OutputPacer). */
  readonly pacing?: PacingClient | undefined;
  /** A terminal's client: hands a small piece on at once while it is caught up and idle (see TapReader.direct). */
  readonly direct?: ((piece: OutputPiece) => boolean) | undefined;
  /** Output a capped journal drops before this client reads it is skipped, not CURSOR_EXPIRED (see journals.read). */
  readonly skipDropped?: boolean | undefined;
}

/**
 * A client's view of a process's output (an OutputWriter's journal) from
 * `fromOffset`, to the process's end. With a tap: from the journal while the
 * client is behind what the process wrote, from the tap once it has caught
 * up, back to the journal if it falls behind again; offsets continue exactly
 * from one piece to the next across the switches. Without one, the journal,
 * followed. Without `live` (the process has ended, or the client does not
 * follow), what the journal holds.
 */
export async function* followOutput(
  journals: Journals,
  journal: string,
  fromOffset: number,
  live: LiveOutput | undefined,
  signal: AbortSignal,
  options: FollowOptions = {},
): AsyncGenerator<OutputPiece[]> {
  const { pacing, direct, skipDropped } = options;
  const tap = live?.tap;
  // An exec's pacing client stays within the pacer's lag: its committed records all fit in memory. (A terminal's clients
  // lag as they may while another client reads on: served from the store, as every follower that falls behind is.)
  const queueBytes = pacing === undefined || tap !== undefined ? undefined : PACED_QUEUE_BYTES;
  const records: Records = (cursor, until) =>
    followUntil(journals, journal, { kind: "offset", offset: cursor }, until, signal, { queueBytes, skipDropped });
  if (live === undefined || tap === undefined) {
    const until = live === undefined ? undefined : (stop: AbortSignal) => untilEnded(live.ended, stop);
    try {
      for await (const batch of records(fromOffset, until)) {
        yield batch.map(pieceOf);
        // Resumed: the client took the batch.
        const last = batch.at(-1);
        if (last !== undefined) pacing?.delivered(last.offset + last.data.byteLength);
      }
    } finally {
      pacing?.release();
    }
    return;
  }
  try {
    yield* followTap(records, live, tap, fromOffset, signal, pacing, direct);
  } finally {
    pacing?.release();
  }
}

/** The journal's records from `cursor`, followed until `until` resolves (or to its end without it). */
type Records = (cursor: number, until: ((stop: AbortSignal) => Promise<void>) | undefined) => AsyncGenerator<readonly JournalRecord[]>;

/** followOutput with a tap: `pacing` is told each time the client took what it was handed. */
async function* followTap(
  records: Records,
  live: LiveOutput,
  tap: OutputTap,
  fromOffset: number,
  signal: AbortSignal,
  pacing: PacingClient | undefined,
  direct: ((piece: OutputPiece) => boolean) | undefined,
): AsyncGenerator<OutputPiece[]> {
  // What goes to the client directly counts as taken too: a terminal typed at for hours gets most of its output so.
  const handOn =
    direct === undefined
      ? undefined
      : (piece: OutputPiece): boolean => {
          const sent = direct(piece);
          if (sent) pacing?.delivered(piece.fdEnd);
          return sent;
        };
  let position = fromOffset;
  for (;;) {
    // Aborted while it read the tap (see OutputTap.lose): the reason is the client's to hear.
    signal.throwIfAborted();
    let reader: TapReader | undefined = position === tap.offset ? tap.open(signal, handOn) : undefined;
    if (reader === undefined) {
      // The store may not hold all of what this client missed yet: the tap runs ahead of commits.
      await live.writer.storedThrough(position);
      // A commit that failed meanwhile aborted this client (OutputTap.lose): its reason, not the store's end short of `position`.
      signal.throwIfAborted();
      for await (const batch of records(position, (stop) => untilEnded(live.ended, stop))) {
        const last = batch.at(-1);
        if (last === undefined) continue;
        yield batch.map(pieceOf);
        position = last.offset + last.data.byteLength;
        pacing?.delivered(position);
        // Opened in the same turn as the check: no byte can fall between the journal and the tap.
        if (position === tap.offset && !tap.ended) {
          reader = tap.open(signal, handOn);
          break;
        }
      }
      if (reader === undefined) return; // The process ended and the journal gave this client its last byte.
    }
    try {
      for (let streaming = false; ; ) {
        if (streaming) await reader.gather(TAP_BATCH_BYTES, TAP_BATCH_MS, () => tap.ended);
        const pieces = reader.take();
        streaming = pieces.length > 0 && pieces[0]!.data.byteLength >= TAP_STREAMING_MIN_BYTES;
        if (pieces.length > 0) {
          yield pieces;
          pacing?.delivered(pieces.at(-1)!.fdEnd);
        } else if (reader.overflowed) break;
        else if (tap.ended) return;
        else await reader.wait();
      }
      position = reader.resumeOffset;
    } finally {
      reader.close();
    }
  }
}

/**
 * A terminal's client that was just handed at least TAP_STREAMING_MIN_BYTES
 * (a flood, not a keystroke's echo) gets its next message once
 * TAP_BATCH_BYTES have come or TAP_BATCH_MS have passed: a terminal yields a
 * few KiB per read, and a message per read cost the daemon and the client
 * more than the terminal did (200 MB of `cat` made 48,000 messages at the
 * CLI's client).
 */
const TAP_STREAMING_MIN_BYTES = 1024;
const TAP_BATCH_BYTES = 64 * 1024;
const TAP_BATCH_MS = 4;

/** How far behind what its process wrote an exec's own client may fall before the process is held (see OutputPacer). */
export const PACED_LAG_BYTES = 8 * 1024 * 1024;
/** What a paced client's reader may hold: the lag, the chunk read past it, and room to spare. */
const PACED_QUEUE_BYTES = 2 * PACED_LAG_BYTES;

/** Resolves when `ended` does, or when `stop` aborts. */
export async function untilEnded(ended: Promise<unknown>, stop: AbortSignal): Promise<void> {
  await Promise.race([ended, new Promise<void>((resolve) => stop.addEventListener("abort", () => resolve(), { once: true }))]);
}

/** A journal record of an OutputWriter: its fd (meta s) and the fd's offset after it (meta e). */
function pieceOf(record: JournalRecord): OutputPiece {
  return { fd: record.meta?.["s"] === "2" ? 2 : 1, data: record.data, offset: record.offset, fdEnd: Number(record.meta?.["e"] ?? 0), createdAt: record.createdAt };
}
