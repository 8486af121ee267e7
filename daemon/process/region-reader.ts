import type { OnReadOpts, Socket } from "node:net";
import { COALESCED_RECORD_BYTES } from "./output-writer.js";

/** A stream is read into regions of this size, one after another (a record's most, so a record is one region's slice) ... */
const REGION_BYTES = COALESCED_RECORD_BYTES;
/** ... each read into the room left in the current region, and a new region once less than this is left. */
const REGION_MIN_ROOM_BYTES = 64 * 1024;

/** Hands each chunk on in order; a promise holds the reading until it settles (backpressure). */
export type OnChunk = (chunk: Buffer) => Promise<unknown> | undefined;

/**
 * Reads a process's output stream (a socket, or a terminal's master side)
 * to its end into memory of the daemon's own: `open` makes the stream with
 * the given `onread` option (net.Socket's, which tty.ReadStream passes on),
 * and each read lands just after the last in a region of REGION_BYTES, so
 * consecutive chunks lie side by side and the OutputWriter joins them by
 * widening its view (output-writer.ts), without a copy. Node otherwise
 * allocates a buffer per read (64 KiB, cut to what came), pushes it through
 * a Readable and its events, and the writer copies it into its record.
 */
export class RegionReader {
  /** Resolves once the stream has ended, failed (a terminal's EIO once its program is gone) or was destroyed. */
  readonly done: Promise<void>;
  private readonly stream: Socket;
  private region: Buffer | undefined;
  private used = 0;

  constructor(
    open: (onread: OnReadOpts) => Socket,
    private readonly onChunk: OnChunk,
  ) {
    this.stream = open({ buffer: () => this.room(), callback: (n, buffer) => this.took(n, buffer) });
    this.done = new Promise((resolve) => {
      this.stream.on("error", () => {});
      this.stream.once("end", () => resolve());
      this.stream.once("close", () => resolve());
    });
    // A terminal's stream starts paused (tty.ReadStream's manualStart); a socket's already reads.
    this.stream.resume();
  }

  /** Reads again if a settled promise has not resumed it yet (a terminal read dry after its program exited). */
  resume(): void {
    this.stream.resume();
  }

  /** Stops reading and closes the descriptor: what was read has been handed on. */
  destroy(): void {
    this.stream.destroy();
  }

  /** Where the next read goes: the room left in the current region, or a new region. */
  private room(): Buffer {
    if (this.region === undefined || this.region.byteLength - this.used < REGION_MIN_ROOM_BYTES) {
      this.region = Buffer.allocUnsafeSlow(REGION_BYTES);
      this.used = 0;
    }
    return this.region.subarray(this.used);
  }

  /** Hands on the `n` bytes just read into `buffer`; a promise back pauses the stream until it settles. */
  private took(n: number, buffer: Uint8Array): boolean {
    const chunk = Buffer.from(buffer.buffer, buffer.byteOffset, n);
    this.used += n;
    const pending = this.onChunk(chunk);
    if (pending === undefined) return true;
    this.stream.pause();
    void pending.then(
      () => this.stream.resume(),
      () => this.stream.resume(),
    );
    return true;
  }
}

/** `parts` (of `bytes` in all) as one buffer: a wider view when they lie side by side in one region, else a copy. */
export function joined(parts: readonly Uint8Array[], bytes: number): Buffer {
  const first = parts[0]!;
  let end = first.byteOffset;
  for (const part of parts) {
    if (part.buffer !== first.buffer || part.byteOffset !== end) return Buffer.concat(parts, bytes);
    end += part.byteLength;
  }
  return Buffer.from(first.buffer, first.byteOffset, bytes);
}
