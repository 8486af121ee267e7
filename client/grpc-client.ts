import { create, fromBinary, toBinary, type DescMessage, type DescMethod, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import { connect as http2Connect, constants, type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders } from "node:http2";
import { connect } from "node:net";
import { ErrorDetailSchema, type ErrorDetail } from "../gen/tether/v1/errors_pb.js";

/** The daemon accepts messages up to 16 MiB; the client matches it. */
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
/** Large flow-control windows so streamed output is not throttled per round trip. */
const HTTP2_WINDOW_BYTES = 4 * 1024 * 1024;
/** Node's HTTP/2 memory cap per connection, in MB: its default (10) resets a stream carrying one maximal message. */
const HTTP2_SESSION_MEMORY_MB = 64;
/** gRPC status codes the client itself raises. */
const UNAVAILABLE = 14;
const INTERNAL = 13;
const CANCELLED = 1;

type Method<I extends DescMessage, O extends DescMessage, K extends DescMethod["methodKind"]> = DescMethod & {
  readonly input: I;
  readonly output: O;
  readonly methodKind: K;
};

/** A failed call: the gRPC code, the daemon's message, and tether's ErrorDetail when it sent one. */
export class RpcError extends Error {
  override readonly name = "RpcError";
  constructor(
    readonly code: number,
    message: string,
    readonly detail?: ErrorDetail,
  ) {
    super(message);
  }
}

export interface CallOptions {
  readonly signal?: AbortSignal;
}

/**
 * The CLI's gRPC client: node:http2 and protobuf-es, nothing else.
 *
 * A CLI call is dominated by start-up, and connect-node's client pulls in
 * Node's fetch internals (for the global Headers), https and compression
 * before its first call: about 25 ms of a ~160 ms `tether daemon status`.
 * gRPC framing is five bytes per message and a status in the trailers, so
 * this client does just that. The tests drive the daemon with connect-node
 * and grpc-js as well, so the daemon is held to well-kept clients too.
 */
export class GrpcClient {
  private session: ClientHttp2Session | undefined;
  private active = 0;

  constructor(private readonly socketPath: string) {}

  async unary<I extends DescMessage, O extends DescMessage>(
    method: Method<I, O, "unary">,
    input: MessageInitShape<I>,
    options: CallOptions = {},
  ): Promise<MessageShape<O>> {
    let response: MessageShape<O> | undefined;
    for await (const message of this.call(method, input, options)) response = message;
    if (response === undefined) throw new RpcError(INTERNAL, `${method.parent.typeName}/${method.name} answered without a message`);
    return response;
  }

  serverStream<I extends DescMessage, O extends DescMessage>(
    method: Method<I, O, "server_streaming">,
    input: MessageInitShape<I>,
    options: CallOptions = {},
  ): AsyncIterable<MessageShape<O>> {
    return this.call(method, input, options);
  }

  /** A bidirectional call: `requests` are sent as they come (the request side ends when they end), responses are yielded. */
  bidiStream<I extends DescMessage, O extends DescMessage>(
    method: Method<I, O, "bidi_streaming">,
    requests: AsyncIterable<MessageInitShape<I>>,
    options: CallOptions = {},
  ): AsyncIterable<MessageShape<O>> {
    return this.call(method, requests, options);
  }

  close(): void {
    this.session?.close();
    this.session = undefined;
  }

  private async *call<I extends DescMessage, O extends DescMessage>(
    method: DescMethod & { readonly input: I; readonly output: O },
    input: MessageInitShape<I> | AsyncIterable<MessageInitShape<I>>,
    options: CallOptions,
  ): AsyncGenerator<MessageShape<O>> {
    const frame = (message: MessageInitShape<I>): Buffer => {
      const body = toBinary(method.input, create(method.input, message));
      const framed = Buffer.alloc(5 + body.byteLength);
      framed.writeUInt32BE(body.byteLength, 1);
      framed.set(body, 5);
      return framed;
    };
    const session = this.connect();
    const stream = session.request({
      ":method": "POST",
      ":path": `/${method.parent.typeName}/${method.name}`,
      "content-type": "application/grpc+proto",
      te: "trailers",
    });
    let headers: IncomingHttpHeaders = {};
    let trailers: IncomingHttpHeaders | undefined;
    stream.once("response", (h) => (headers = h));
    stream.once("trailers", (t) => (trailers = t));
    // Errors reach the call through readChunks while it reads; one that comes after (the
    // daemon stopping while a finished call's request side is still open) needs no handler.
    stream.on("error", () => {});
    const onAbort = (): void => {
      stream.close(constants.NGHTTP2_CANCEL);
    };
    options.signal?.addEventListener("abort", onAbort, { once: true });
    this.hold(session);
    let finished = false;
    try {
      if (Symbol.asyncIterator in input) void pumpRequests(stream, input, frame);
      else stream.end(frame(input));
      const frames = new FrameDecoder();
      for await (const chunk of readChunks(stream, socketFailure(this.socketPath))) {
        for (const message of frames.push(chunk as Buffer)) yield fromBinary(method.output, message);
      }
      if (frames.pending) throw new RpcError(INTERNAL, "the daemon's response ended in the middle of a message");
      finished = true;
      throwIfError(trailers ?? headers);
    } catch (error) {
      if (options.signal?.aborted === true) throw new RpcError(CANCELLED, "the call was cancelled");
      throw error;
    } finally {
      options.signal?.removeEventListener("abort", onAbort);
      // Only a call abandoned midway is reset: resetting finished streams too
      // would look like a rapid-reset attack to the server and cost the session.
      if (!finished && !stream.closed) stream.close(constants.NGHTTP2_CANCEL);
      // A finished call whose requests have not ended (an attach the daemon ended) ends its side too.
      else if (!stream.writableEnded) stream.end();
      this.release();
    }
  }

  private connect(): ClientHttp2Session {
    if (this.session === undefined || this.session.closed || this.session.destroyed) {
      const session = http2Connect("http://localhost", {
        createConnection: () => connect(this.socketPath),
        settings: { initialWindowSize: HTTP2_WINDOW_BYTES },
        maxSessionMemory: HTTP2_SESSION_MEMORY_MB,
      });
      session.once("connect", () => session.setLocalWindowSize(HTTP2_WINDOW_BYTES));
      // Errors reach the calls through their streams; an idle session's error needs no handler.
      session.on("error", () => {});
      session.unref();
      this.session = session;
    }
    return this.session;
  }

  /** An idle session must not keep the CLI alive; one with a call in flight must. */
  private hold(session: ClientHttp2Session): void {
    if (this.active++ === 0) session.ref();
  }

  private release(): void {
    if (--this.active === 0) this.session?.unref();
  }
}

/** Writes each request as it comes, waiting for the stream to drain when it is full; ends the request side after the last. */
async function pumpRequests<T>(stream: ClientHttp2Stream, requests: AsyncIterable<T>, frame: (message: T) => Buffer): Promise<void> {
  try {
    for await (const message of requests) {
      if (stream.closed || stream.destroyed) return;
      if (!stream.write(frame(message))) await drainOrClose(stream);
    }
    if (!stream.closed && !stream.destroyed) stream.end();
  } catch {
    // The call failed or was closed: its error reaches the reader.
  }
}

/** Resolves on 'drain' or 'close', leaving no listener behind (a long upload waits many times). */
function drainOrClose(stream: ClientHttp2Stream): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      stream.off("drain", done).off("close", done);
      resolve();
    };
    stream.once("drain", done).once("close", done);
  });
}

async function* readChunks(stream: ClientHttp2Stream, describe: (error: unknown) => RpcError): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of stream) yield chunk as Buffer;
  } catch (error) {
    throw describe(error);
  }
}

function socketFailure(socketPath: string): (error: unknown) => RpcError {
  return (error) => {
    const code = (error as NodeJS.ErrnoException).code ?? "";
    const message = error instanceof Error ? error.message : String(error);
    return new RpcError(UNAVAILABLE, `lost the connection to the daemon on ${socketPath} (${code || message}): check it with tether daemon status`);
  };
}

/**
 * Splits the response body into gRPC messages (1 flag byte, 4 length bytes,
 * payload). Chunks are kept in a list and joined once per message: joining
 * on every 16 KiB chunk would copy a 1 MiB message 64 times.
 */
class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;

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
      if ((header[0] as number) & 1) throw new RpcError(INTERNAL, "the daemon sent a compressed message, which this client never asks for");
      const length = header.readUInt32BE(1);
      if (length > MAX_MESSAGE_BYTES) throw new RpcError(8, `the daemon sent a ${length}-byte message, over the ${MAX_MESSAGE_BYTES}-byte limit`);
      if (this.buffered < 5 + length) break;
      messages.push(this.take(5 + length).subarray(5));
    }
    return messages;
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

/** Throws the call's status when it is not OK, with tether's ErrorDetail from grpc-status-details-bin. */
function throwIfError(meta: IncomingHttpHeaders): void {
  const status = Number(meta["grpc-status"] ?? NaN);
  if (status === 0) return;
  if (Number.isNaN(status)) throw new RpcError(INTERNAL, "the daemon's response carried no gRPC status");
  const raw = meta["grpc-message"];
  const message = typeof raw === "string" ? decodeURIComponent(raw) : `gRPC status ${status}`;
  const details = meta["grpc-status-details-bin"];
  throw new RpcError(status, message, typeof details === "string" ? errorDetail(Buffer.from(details, "base64")) : undefined);
}

/** Finds tether.v1.ErrorDetail among the Any details of a google.rpc.Status. */
function errorDetail(statusBytes: Uint8Array): ErrorDetail | undefined {
  const status = new BinaryReader(statusBytes);
  while (status.pos < status.len) {
    const [field, wireType] = status.tag();
    if (field !== 3 || wireType !== WireType.LengthDelimited) {
      status.skip(wireType);
      continue;
    }
    const any = new BinaryReader(status.bytes());
    let typeUrl = "";
    let value: Uint8Array | undefined;
    while (any.pos < any.len) {
      const [f, w] = any.tag();
      if (f === 1 && w === WireType.LengthDelimited) typeUrl = new TextDecoder().decode(any.bytes());
      else if (f === 2 && w === WireType.LengthDelimited) value = any.bytes();
      else any.skip(w);
    }
    if (typeUrl.endsWith("/tether.v1.ErrorDetail") && value !== undefined) return fromBinary(ErrorDetailSchema, value);
  }
  return undefined;
}
