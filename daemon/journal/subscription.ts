import { READER_QUEUE_MAX_BYTES } from "./limits.js";
import type { JournalRecord } from "./types.js";
import { Wakeup } from "../wakeup.js";

/**
 * A following reader's bounded in-memory queue of committed records.
 *
 * The journal offers every commit to every subscription synchronously, right
 * after the commit. While the queue stays under its maximum (READER_QUEUE_MAX_BYTES unless the reader's output is paced) the
 * reader is served from memory; once a slow reader would pass it, the queue is
 * dropped and the reader goes back to the store until it has caught up. The
 * writer and the other readers never wait for it.
 */
export class Subscription {
  private queue: JournalRecord[] = [];
  private queued = 0;
  private overflowed = false;
  private readonly wakeup = new Wakeup();

  constructor(
    /** Bytes of records it may hold before its reader is sent to the store. */
    private readonly maxBytes = READER_QUEUE_MAX_BYTES,
  ) {}

  /** Bytes of record data this reader holds in memory: never more than its maximum. */
  get queuedBytes(): number {
    return this.queued;
  }

  offer(records: readonly JournalRecord[]): void {
    if (!this.overflowed) {
      let bytes = 0;
      for (const r of records) bytes += r.data.byteLength;
      if (this.queued + bytes > this.maxBytes) {
        this.overflowed = true;
        this.queue = [];
        this.queued = 0;
      } else {
        for (const r of records) this.queue.push(r);
        this.queued += bytes;
      }
    }
    this.notify();
  }

  /** Wakes a waiting reader without new records (the journal was created, or the daemon is stopping). */
  notify(): void {
    this.wakeup.notify();
  }

  /**
   * Takes queued records that continue exactly at `seq`, up to the limits.
   * Returns an empty array when the queue cannot continue there (it is empty,
   * was dropped, or starts later): the reader must read the store.
   */
  take(seq: number, maxRecords: number, maxBytes: number): JournalRecord[] {
    let skip = 0;
    while (skip < this.queue.length && this.queue[skip]!.seq < seq) skip++;
    if (skip < this.queue.length && this.queue[skip]!.seq !== seq) skip = this.queue.length;
    let end = skip;
    let bytes = 0;
    while (end < this.queue.length && end - skip < maxRecords && (end === skip || bytes < maxBytes)) {
      bytes += this.queue[end]!.data.byteLength;
      end++;
    }
    const taken = this.queue.slice(skip, end);
    for (const r of this.queue.slice(0, end)) this.queued -= r.data.byteLength;
    this.queue = this.queue.slice(end);
    return taken;
  }

  /** The reader has read everything committed: memory may serve it again. */
  caughtUp(): void {
    this.queue = [];
    this.queued = 0;
    this.overflowed = false;
  }

  /** Resolves on the next offer or notify; rejects with the signal's reason when it aborts. */
  wait(signal: AbortSignal): Promise<void> {
    return this.wakeup.wait(signal);
  }
}
