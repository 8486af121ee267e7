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
 * the CLI's client reads responses with it and the daemon requests. Chunks
 * are kept in a list and joined once per message: joining on every 16 KiB
 * chunk would copy a 1 MiB message 64 times.
 */
export class GrpcFrames {
  private chunks: Buffer[] = [];
  private buffered = 0;

  constructor(
    private readonly maxMessageBytes: number,
    private readonly errors: FrameErrors,
    /** Decompresses a message sent with the compressed flag (the call's grpc-encoding); without it, such a message is refused. */
    private readonly decompress?: (message: Buffer) => Buffer,
  ) {}

  get pending(): boolean {
    return this.buffered > 0;
  }

  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const messages: Buffer[] = [];
    for (;;) {
      if (this.buffered < 5) break;
      const header = this.peek(5);
      const compressed = ((header[0] as number) & 1) === 1;
      if (compressed && this.decompress === undefined) throw this.errors.compressed();
      const length = header.readUInt32BE(1);
      if (length > this.maxMessageBytes) throw this.errors.tooLarge(length, this.maxMessageBytes);
      if (this.buffered < 5 + length) break;
      const message = this.take(5 + length).subarray(5);
      messages.push(compressed ? this.decompress!(message) : message);
    }
    return messages;
  }

  /** The body has ended: throws when it ended inside a message. */
  end(): void {
    if (this.buffered > 0) throw this.errors.truncated();
  }

  private peek(n: number): Buffer {
    const first = this.chunks[0] as Buffer;
    return first.length >= n ? first : Buffer.concat(this.chunks).subarray(0, n);
  }

  private take(n: number): Buffer {
    const first = this.chunks[0] as Buffer;
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      const all = Buffer.concat(this.chunks);
      out = all.subarray(0, n);
      this.chunks = all.length > n ? [all.subarray(n)] : [];
    }
    this.buffered -= n;
    return out;
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
export class MessageReader<T> {
  private readonly maxQueuedBytes: number;
  private queue: { message: T; bytes: number }[] = [];
  private head = 0;
  private queuedBytes = 0;
  private ended = false;
  private failure: unknown;
  private waiter: (() => void) | undefined;

  constructor(
    private readonly stream: Http2Stream,
    frames: GrpcFrames,
    decode: (bytes: Buffer) => T,
    options: {
      readonly maxQueuedBytes: number;
      /** A message that cannot be read: the call should end (the reader has failed already). */
      readonly malformed: (error: unknown) => void;
      /** What the reader fails with when the stream errs or closes before its end. */
      readonly closedEarly: (error: unknown) => unknown;
    },
  ) {
    const fail = (error: unknown): void => {
      this.failure ??= error;
      this.wake();
    };
    stream.on("data", (chunk: Buffer) => {
      if (this.failure !== undefined) return;
      try {
        for (const bytes of frames.push(chunk)) {
          this.queue.push({ message: decode(bytes), bytes: bytes.byteLength });
          this.queuedBytes += bytes.byteLength;
        }
      } catch (error) {
        fail(error);
        options.malformed(error);
        return;
      }
      if (this.queuedBytes > options.maxQueuedBytes) stream.pause();
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

  /** The next message, or undefined at the end; throws what failed the reading. */
  async next(): Promise<T | undefined> {
    for (;;) {
      if (this.head < this.queue.length) return this.take();
      if (this.failure !== undefined) throw this.failure;
      if (this.ended) return undefined;
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
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
    return entry.message;
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }
}
