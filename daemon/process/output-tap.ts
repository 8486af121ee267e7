import { READER_QUEUE_MAX_BYTES } from "../journal/limits.js";
import { BoundWakeup } from "../wakeup.js";
import { joined } from "./thread-reader.js";

/** Bytes a process wrote to one fd: their offset in its whole output (the journal's), and the fd's own offset after them. */
export interface OutputPiece {
  readonly fd: 1 | 2;
  readonly data: Uint8Array;
  readonly offset: number;
  readonly fdEnd: number;
  /** Its commit time (ms since the epoch), when it comes from the store; a terminal's live piece has none yet. */
  readonly createdAt?: number | undefined;
}

/**
 * A terminal's output handed to attached clients as the daemon reads it,
 * before it is stored: what a keystroke's echo waits for is the terminal and
 * the socket, not a commit (tmux shows output as it reads it, too). Execs do
 * not use it (see LiveOutput). The same bytes go to the journal beside it, in
 * the same order, so the tap's offsets are the journal's: a client that falls
 * behind, or attaches later, reads them from there. A terminal has one output
 * stream: every piece is fd 1.
 *
 * Each reader holds at most READER_QUEUE_MAX_BYTES; one that would pass it
 * is overflowed (its queue dropped) and goes back to the journal from the
 * first byte it did not take. The process never waits for a reader.
 *
 * Bytes whose commit fails (a full disk) never reach the journal: lose()
 * moves the offsets of what comes next back by as much, so they stay the
 * journal's, and closes every reader open, whose pieces carry the old ones.
 */
export class OutputTap {
  private readonly readers = new Set<TapReader>();
  private written = 0;
  private done = false;

  /** The offset the process's next byte gets: every byte before it has been offered to the readers. */
  get offset(): number {
    return this.written;
  }

  /** The process has ended and its end is recorded: readers finish with what they hold. */
  get ended(): boolean {
    return this.done;
  }

  write(chunk: Buffer): void {
    const piece: OutputPiece = { fd: 1, data: chunk, offset: this.written, fdEnd: this.written + chunk.byteLength };
    this.written += chunk.byteLength;
    for (const reader of this.readers) reader.offer(piece);
  }

  /**
   * A commit of `bytes` failed: what the journal holds after them lies that
   * much earlier than the tap said. Every reader open is abandoned (it takes
   * nothing more, and its follower finds it overflowed): its client must be
   * told that output was lost, as the terminal's owner does.
   */
  lose(bytes: number): void {
    this.written -= bytes;
    for (const reader of this.readers) reader.abandon();
    this.readers.clear();
  }

  end(): void {
    this.done = true;
    for (const reader of this.readers) reader.notify();
  }

  /** A reader of everything written from now on (from `offset`), whose waits end when `signal` aborts; close it when done. */
  open(signal: AbortSignal, direct?: (piece: OutputPiece) => boolean): TapReader {
    const reader = new TapReader(this.written, signal, () => this.readers.delete(reader));
    reader.direct = direct;
    this.readers.add(reader);
    return reader;
  }
}

/** Pieces below this size may be handed on directly (see TapReader.direct): echoes, not floods (follow-output.ts gathers those from 1 KiB). */
const DIRECT_MAX_BYTES = 1024;

/** One client's bounded queue of tapped output. */
export class TapReader {
  private queue: OutputPiece[] = [];
  private bytes = 0;
  private dropped = false;
  private readonly wakeup: BoundWakeup;
  readonly close: () => void;
  /** While gathering: how many bytes queued wake the reader (see gather). */
  private wakeAt = 0;
  /** Its follower waits in wait() with nothing queued: everything before was handed on. */
  private idle = false;
  /**
   * Hands a piece to the client at once, from the terminal's read, when the
   * reader is idle and the piece small (an echo: a flood still gathers into
   * fewer messages); true when it did. ~25 µs of a keystroke's round trip
   * went to the promise turns and generators between the read and the write
   * (traced).
   */
  direct: ((piece: OutputPiece) => boolean) | undefined;

  constructor(
    /** The offset of the first byte this reader has not taken. */
    private next: number,
    signal: AbortSignal,
    remove: () => void,
  ) {
    this.wakeup = new BoundWakeup(signal);
    this.close = () => {
      this.wakeup.close();
      remove();
    };
  }

  /** It fell behind by more than it may hold: read on from the journal at `resumeOffset`. */
  get overflowed(): boolean {
    return this.dropped;
  }

  get resumeOffset(): number {
    return this.next;
  }

  offer(piece: OutputPiece): void {
    if (this.dropped) return;
    if (this.idle && this.queue.length === 0 && piece.data.byteLength < DIRECT_MAX_BYTES && this.direct?.(piece) === true) {
      this.next = piece.fdEnd;
      return;
    }
    // From here on the follower takes it, in order: nothing may go directly before it does.
    this.idle = false;
    if (this.bytes + piece.data.byteLength > READER_QUEUE_MAX_BYTES) {
      this.dropped = true;
      this.queue = [];
      this.bytes = 0;
    } else {
      this.queue.push(piece);
      this.bytes += piece.data.byteLength;
      if (this.bytes < this.wakeAt) return;
    }
    this.wakeup.notify();
  }

  /** Everything queued, joined into one piece (a terminal yields a few KiB per read, side by side in a region); empty when nothing is. */
  take(): OutputPiece[] {
    const first = this.queue[0];
    if (first === undefined) return [];
    const last = this.queue.at(-1)!;
    const data = this.queue.length === 1 ? first.data : joined(this.queue.map((p) => p.data), this.bytes);
    this.queue = [];
    this.bytes = 0;
    this.next = last.fdEnd;
    return [{ fd: 1, data, offset: first.offset, fdEnd: last.fdEnd }];
  }

  notify(): void {
    this.idle = false;
    this.wakeup.notify();
  }

  /** Takes nothing more and drops what it holds (see OutputTap.lose); its follower wakes and finds it overflowed. */
  abandon(): void {
    this.dropped = true;
    this.direct = undefined;
    this.queue = [];
    this.bytes = 0;
    this.notify();
  }

  /** Resolves on the next offer handed on the usual way, or the tap's end; rejects with the signal's reason when it aborts. */
  async wait(): Promise<void> {
    this.idle = this.queue.length === 0;
    try {
      await this.wakeup.wait();
    } finally {
      this.idle = false;
    }
  }

  /**
   * Resolves once `bytes` are queued, or after `ms`, or when the reader
   * overflows or the tap ends (`ended` says): a terminal streaming output
   * goes to its clients in fewer, larger messages.
   */
  async gather(bytes: number, ms: number, ended: () => boolean): Promise<void> {
    if (this.bytes >= bytes || this.dropped || ended()) return;
    // One wake-up, not one per offer: offer() wakes it only once `bytes` are queued.
    this.wakeAt = bytes;
    try {
      await this.wakeup.wait(ms);
    } finally {
      this.wakeAt = 0;
    }
  }
}
