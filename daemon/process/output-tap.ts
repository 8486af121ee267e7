import { READER_QUEUE_MAX_BYTES } from "../journal/limits.js";
import { Wakeup } from "../wakeup.js";

/** Bytes of a program's output and the offset of their first byte. */
export interface OutputChunk {
  readonly data: Uint8Array;
  readonly offset: number;
}

/**
 * A terminal's output handed to attached clients as the program writes it,
 * before it is stored: what a keystroke's echo waits for is the terminal and
 * the socket, not a commit (tmux shows output as it reads it, too). The same
 * bytes go to the journal beside it, so a client that falls behind, or
 * attaches later, reads them from there at the same offsets.
 *
 * Each reader holds at most READER_QUEUE_MAX_BYTES; one that would pass it
 * is overflowed (its queue dropped) and goes back to the journal from the
 * first byte it did not take. The program never waits for a reader.
 */
export class OutputTap {
  private readonly readers = new Set<TapReader>();
  private written = 0;
  private done = false;

  /** The offset the program's next byte gets: every byte before it has been offered to the readers. */
  get offset(): number {
    return this.written;
  }

  /** The program has ended and its end is recorded: readers finish with what they hold. */
  get ended(): boolean {
    return this.done;
  }

  write(chunk: Buffer): void {
    for (const reader of this.readers) reader.offer({ data: chunk, offset: this.written });
    this.written += chunk.byteLength;
  }

  end(): void {
    this.done = true;
    for (const reader of this.readers) reader.notify();
  }

  /** A reader of everything written from now on (from `offset`); close it when done. */
  open(): TapReader {
    const reader = new TapReader(this.written, () => this.readers.delete(reader));
    this.readers.add(reader);
    return reader;
  }
}

/** One client's bounded queue of tapped output. */
export class TapReader {
  private queue: OutputChunk[] = [];
  private bytes = 0;
  private dropped = false;
  private readonly wakeup = new Wakeup();

  constructor(
    /** The offset of the first byte this reader has not taken. */
    private next: number,
    readonly close: () => void,
  ) {}

  /** It fell behind by more than it may hold: read on from the journal at `resumeOffset`. */
  get overflowed(): boolean {
    return this.dropped;
  }

  get resumeOffset(): number {
    return this.next;
  }

  offer(chunk: OutputChunk): void {
    if (this.dropped) return;
    if (this.bytes + chunk.data.byteLength > READER_QUEUE_MAX_BYTES) {
      this.dropped = true;
      this.queue = [];
      this.bytes = 0;
    } else {
      this.queue.push(chunk);
      this.bytes += chunk.data.byteLength;
    }
    this.notify();
  }

  /** Everything queued, joined into one chunk (a terminal yields a few KiB per read); undefined when nothing is. */
  take(): OutputChunk | undefined {
    if (this.queue.length === 0) return undefined;
    const first = this.queue[0]!;
    const data = this.queue.length === 1 ? first.data : Buffer.concat(this.queue.map((c) => c.data), this.bytes);
    this.queue = [];
    this.bytes = 0;
    this.next = first.offset + data.byteLength;
    return { data, offset: first.offset };
  }

  notify(): void {
    this.wakeup.notify();
  }

  /** Resolves on the next offer or the tap's end; rejects with the signal's reason when it aborts. */
  wait(signal: AbortSignal): Promise<void> {
    return this.wakeup.wait(signal);
  }
}
