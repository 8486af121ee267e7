import type { Http2Stream } from "node:http2";

/** What a frame decoder refuses, as the caller's own error. */
export interface FrameErrors {
  /** A message with the compressed flag, and no way to decompress it. */
  compressed(): Error;
  tooLarge(bytes: number, maxBytes: number): Error;
  /** The body ended in the middle of a message. */
  truncated(): Error;
}

/**
 * Splits a gRPC body into messages (1 flag byte, 4 length bytes, payload):
 * the CLI's client reads responses with it and the daemon requests. A
 * message inside one chunk is a view of it; the parts of one spread over
 * chunks are kept and joined once it is complete, so the work is linear
 * however the body is cut (a client sending one byte per frame included),
 * and what is held is what has come, never what a header declares: a
 * header saying 16 MiB followed by nothing costs five bytes.
 *
 * `whole`, when given, takes the parts of an uncompressed message spread
 * over chunks instead of joining them (see data-parts.ts: output goes on as
 * the pieces it came in); a message inside one chunk is still a view.
 */
export class GrpcFrames<Whole = never> {
  /** The header read so far (it can be split over chunks too). */
  private readonly header = Buffer.alloc(5);
  private headerBytes = 0;
  /** The message whose header was read, and the parts of it that came. */
  private body: { readonly length: number; readonly compressed: boolean; readonly parts: Buffer[]; received: number } | undefined;

  constructor(
    private readonly maxMessageBytes: number,
    private readonly errors: FrameErrors,
    /** Decompresses a message sent with the compressed flag (the call's grpc-encoding); without it, such a message is refused. */
    private readonly decompress?: (message: Buffer) => Buffer,
    private readonly whole?: (parts: Buffer[], length: number) => Whole,
  ) {}

  push(chunk: Buffer): (Buffer | Whole)[] {
    const messages: (Buffer | Whole)[] = [];
    let at = 0;
    while (at < chunk.length) {
      const body = this.body;
      if (body !== undefined) {
        const n = Math.min(body.length - body.received, chunk.length - at);
        body.parts.push(chunk.subarray(at, at + n));
        body.received += n;
        at += n;
        if (body.received < body.length) break;
        this.body = undefined;
        // A message whose header ended one chunk and whose payload is all in the next is one part: no copy.
        if (body.parts.length === 1) messages.push(this.finish(body.parts[0]!, body.compressed));
        else if (this.whole !== undefined && !body.compressed) messages.push(this.whole(body.parts, body.length));
        else messages.push(this.finish(Buffer.concat(body.parts, body.length), body.compressed));
        continue;
      }
      if (this.headerBytes === 0 && chunk.length - at >= 5) {
        // The common case: the header in one piece, read in place.
        const compressed = this.compressed(chunk[at]!);
        const length = this.length(chunk, at);
        at += 5;
        if (chunk.length - at >= length) {
          messages.push(this.finish(chunk.subarray(at, at + length), compressed));
          at += length;
        } else {
          this.body = { length, compressed, parts: [], received: 0 };
        }
        continue;
      }
      const n = Math.min(5 - this.headerBytes, chunk.length - at);
      chunk.copy(this.header, this.headerBytes, at, at + n);
      this.headerBytes += n;
      at += n;
      if (this.headerBytes < 5) break;
      this.headerBytes = 0;
      const compressed = this.compressed(this.header[0]!);
      const length = this.length(this.header, 0);
      if (length === 0) messages.push(this.finish(Buffer.alloc(0), compressed));
      else this.body = { length, compressed, parts: [], received: 0 };
    }
    return messages;
  }

  /** The bytes of a message still arriving that are held (its header's included). */
  get heldBytes(): number {
    return this.headerBytes + (this.body?.received ?? 0);
  }

  /** Lets go of a message still arriving: the body is not read on. */
  clear(): void {
    this.headerBytes = 0;
    this.body = undefined;
  }

  /** The body has ended: throws when it ended inside a message. */
  end(): void {
    if (this.headerBytes > 0 || this.body !== undefined) throw this.errors.truncated();
  }

  private compressed(flags: number): boolean {
    const compressed = (flags & 1) === 1;
    if (compressed && this.decompress === undefined) throw this.errors.compressed();
    return compressed;
  }

  private length(bytes: Buffer, at: number): number {
    const length = bytes.readUInt32BE(at + 1);
    if (length > this.maxMessageBytes) throw this.errors.tooLarge(length, this.maxMessageBytes);
    return length;
  }

  private finish(message: Buffer, compressed: boolean): Buffer {
    return compressed ? this.decompress!(message) : message;
  }
}

/**
 * The messages of one side of a gRPC call as they come off its HTTP/2
 * stream: data events split into messages (GrpcFrames), decoded and queued,
 * taken one at a time. While more than `maxQueuedBytes` wait, the stream is
 * paused, so HTTP/2 flow control holds the sender. Node's own async
 * iteration of a stream cost ~100 µs of a unary call here; this costs a few.
 * Both ends use it: the CLI's client for responses, the daemon for requests.
 */
export class MessageReader<T, Whole = never> {
  private readonly maxQueuedBytes: number;
  private queue: { message: T; bytes: number }[] = [];
  private head = 0;
  private queuedBytes = 0;
  private ended = false;
  private failure: unknown;
  /** The caller of next() waiting for a message: wake() hands it one directly, a turn sooner than waking it to take it. */
  private waiter: { readonly resolve: (message: T | undefined) => void; readonly reject: (error: unknown) => void } | undefined;
  /** See takeNow. */
  private direct: ((message: T) => boolean) | undefined;
  private readonly holding: ((bytes: number) => void) | undefined;

  constructor(
    private readonly stream: Http2Stream,
    private readonly frames: GrpcFrames<Whole>,
    decode: (bytes: Buffer | Whole) => T,
    options: {
      readonly maxQueuedBytes: number;
      /** A message that cannot be read: the call should end (the reader has failed already). */
      readonly malformed: (error: unknown) => void;
      /** What the reader fails with when the stream errs or closes before its end. */
      readonly closedEarly: (error: unknown) => unknown;
      /** The size of a message `frames` kept in parts, as it counts towards maxQueuedBytes. */
      readonly wholeBytes?: (whole: Whole) => number;
      /** Told what the reader holds (messages queued, and what has come of the next) each time that changes. */
      readonly holding?: (bytes: number) => void;
    },
  ) {
    this.holding = options.holding;
    const fail = (error: unknown): void => {
      this.failure ??= error;
      this.wake();
    };
    stream.on("data", (chunk: Buffer) => {
      if (this.failure !== undefined) return;
      try {
        for (const bytes of frames.push(chunk)) {
          const message = decode(bytes);
          if (this.direct !== undefined && this.waiter !== undefined && this.head === this.queue.length && this.direct(message)) continue;
          const size = bytes instanceof Uint8Array ? bytes.byteLength : (options.wholeBytes?.(bytes) ?? 0);
          this.queue.push({ message, bytes: size });
          this.queuedBytes += size;
        }
      } catch (error) {
        fail(error);
        options.malformed(error);
        return;
      }
      if (this.queuedBytes > options.maxQueuedBytes) stream.pause();
      this.holding?.(this.queuedBytes + frames.heldBytes);
      this.wake();
    });
    stream.once("end", () => {
      try {
        frames.end();
        this.ended = true;
      } catch (error) {
        fail(error);
        options.malformed(error);
      }
      this.wake();
    });
    stream.on("error", (error) => fail(options.closedEarly(error)));
    stream.once("close", () => {
      if (!this.ended) fail(options.closedEarly(undefined));
    });
    this.maxQueuedBytes = options.maxQueuedBytes;
  }

  /**
   * Offers each message to `take` in the data event that brought it, while
   * the caller of next() waits and no message is queued, so it overtakes
   * none; `take` returns false for one it leaves to next().
   */
  takeNow(take: (message: T) => boolean): void {
    this.direct = take;
  }

  /**
   * Fails the reading with `error` and lets go of what it holds: the queued
   * messages and what has come of the next; what comes later is dropped.
   */
  abandon(error: unknown): void {
    this.failure ??= error;
    this.queue = [];
    this.head = 0;
    this.queuedBytes = 0;
    this.frames.clear();
    this.stream.resume();
    this.wake();
  }

  /** The next message, or undefined at the end; throws what failed the reading. */
  next(): Promise<T | undefined> {
    if (this.head < this.queue.length) return Promise.resolve(this.take());
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.ended) return Promise.resolve(undefined);
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  private take(): T {
    const entry = this.queue[this.head]!;
    this.queue[this.head++] = undefined!;
    if (this.head === this.queue.length || this.head >= 1024) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    this.queuedBytes -= entry.bytes;
    if (this.queuedBytes <= this.maxQueuedBytes && this.stream.isPaused()) this.stream.resume();
    if (entry.bytes > 0) this.holding?.(this.queuedBytes + this.frames.heldBytes);
    return entry.message;
  }

  private wake(): void {
    const waiter = this.waiter;
    if (waiter === undefined || (this.head === this.queue.length && this.failure === undefined && !this.ended)) return;
    this.waiter = undefined;
    if (this.head < this.queue.length) waiter.resolve(this.take());
    else if (this.failure !== undefined) waiter.reject(this.failure);
    else waiter.resolve(undefined);
  }
}
