import { create, fromBinary, toBinary, type DescMessage, type DescMethod, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import { connect as http2Connect, constants, type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders } from "node:http2";
import { connect } from "node:net";
import { ErrorDetailSchema, type ErrorDetail } from "../gen/tether/v1/errors_pb.js";
import { decodeDataLast, PartedMessage } from "./data-parts.js";
import { GrpcFrames, MessageReader, type FrameErrors } from "../common/grpc-frames.js";
import { HTTP2_SESSION_MEMORY_MB, HTTP2_WINDOW_BYTES, MAX_MESSAGE_BYTES } from "../common/grpc-limits.js";
import { RUN_TOKEN_ENV, RUN_TOKEN_HEADER } from "../common/run-token.js";
import { FAST_CODECS } from "../common/terminal-wire.js";

/** gRPC status codes the client itself raises. */
export const UNAVAILABLE = 14;
const INTERNAL = 13;
const CANCELLED = 1;
const RESOURCE_EXHAUSTED = 8;
/** Inside a session's run in a bwrap workspace, its token on every call (common/run-token.ts). */
const RUN_TOKEN: Readonly<Record<string, string>> = process.env[RUN_TOKEN_ENV] === undefined ? {} : { [RUN_TOKEN_HEADER]: process.env[RUN_TOKEN_ENV] };
/** Response bytes read off the stream and not yet taken: above this the stream is paused. */
const RESPONSES_QUEUED_MAX_BYTES = 1024 * 1024;

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
  /**
   * Responses of the daemon's data-last shape that come in several HTTP/2
   * pieces keep their data as those pieces (takeDataParts, data-parts.ts),
   * for a caller that writes them on: `tether exec`, `exec attach` and `pty`.
   */
  readonly dataParts?: boolean;
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
    const call = this.open(method, options);
    let response: Buffer | PartedMessage | undefined;
    try {
      call.stream.end(grpcFrame(method.input, input));
      for (let message = await call.reader.next(); message !== undefined; message = await call.reader.next()) response = message;
      call.finish();
    } catch (error) {
      throw call.failed(error);
    } finally {
      call.close();
    }
    if (response === undefined) throw new RpcError(INTERNAL, `${method.parent.typeName}/${method.name} answered without a message`);
    return decode(method.output, response instanceof PartedMessage ? response.join() : response);
  }

  serverStream<I extends DescMessage, O extends DescMessage>(
    method: Method<I, O, "server_streaming">,
    input: MessageInitShape<I>,
    options: CallOptions = {},
  ): AsyncIterable<MessageShape<O>> {
    return this.stream(method, input, options);
  }

  /** A bidirectional call: `requests` are sent as they come (the request side ends when they end), responses are yielded. */
  bidiStream<I extends DescMessage, O extends DescMessage>(
    method: Method<I, O, "bidi_streaming">,
    requests: AsyncIterable<MessageInitShape<I>>,
    options: CallOptions = {},
  ): AsyncIterable<MessageShape<O>> {
    return this.stream(method, requests, options);
  }

  close(): void {
    this.session?.close();
    this.session = undefined;
  }

  private async *stream<I extends DescMessage, O extends DescMessage>(
    method: DescMethod & { readonly input: I; readonly output: O },
    input: MessageInitShape<I> | AsyncIterable<MessageInitShape<I>>,
    options: CallOptions,
  ): AsyncGenerator<MessageShape<O>> {
    const call = this.open(method, options);
    try {
      if (Symbol.asyncIterator in input) void pumpRequests(call.stream, input, (message) => grpcFrame(method.input, message));
      else call.stream.end(grpcFrame(method.input, input));
      for (;;) {
        const message = await call.reader.next();
        if (message === undefined) break;
        yield message instanceof PartedMessage ? (decodeDataLast(method.output, message) ?? decode(method.output, message.join())) : decode(method.output, message);
      }
      call.finish();
    } catch (error) {
      throw call.failed(error);
    } finally {
      call.close();
    }
  }

  /** Starts a call: its stream (write the requests to it), its responses as they come, and its end. */
  private open(method: DescMethod, options: CallOptions): OpenCall {
    const session = this.connect();
    const stream = session.request({
      ":method": "POST",
      ":path": `/${method.parent.typeName}/${method.name}`,
      "content-type": "application/grpc+proto",
      te: "trailers",
      ...RUN_TOKEN,
    });
    let headers: IncomingHttpHeaders = {};
    let trailers: IncomingHttpHeaders | undefined;
    stream.once("response", (h) => (headers = h));
    stream.once("trailers", (t) => (trailers = t));
    const describe = socketFailure(this.socketPath);
    const parted = options.dataParts === true ? (parts: Buffer[], length: number) => new PartedMessage(parts, length) : undefined;
    const reader = new MessageReader(stream, new GrpcFrames(MAX_MESSAGE_BYTES, RESPONSE_FRAME_ERRORS, undefined, parted), (bytes) => bytes, {
      maxQueuedBytes: RESPONSES_QUEUED_MAX_BYTES,
      wholeBytes: (message) => message.byteLength,
      malformed: () => stream.close(constants.NGHTTP2_CANCEL),
      closedEarly: (error) => describe(error ?? Object.assign(new Error("the stream closed before its end"), { code: `HTTP/2 code ${stream.rstCode ?? "none"}` })),
    });
    const onAbort = (): void => {
      stream.close(constants.NGHTTP2_CANCEL);
    };
    options.signal?.addEventListener("abort", onAbort, { once: true });
    this.hold(session);
    let finished = false;
    return {
      stream,
      reader,
      finish: () => {
        finished = true;
        // No status at all: the daemon went away mid-call (it stopped or crashed), not a protocol fault.
        if ((trailers ?? headers)["grpc-status"] === undefined) throw describe(new Error("the call ended without its status"));
        throwIfError(trailers ?? headers);
      },
      failed: (error) => (options.signal?.aborted === true ? new RpcError(CANCELLED, "the call was cancelled") : error),
      close: () => {
        options.signal?.removeEventListener("abort", onAbort);
        // Only a call abandoned midway is reset: resetting finished streams too
        // would look like a rapid-reset attack to the server and cost the session.
        if (!finished && !stream.closed) stream.close(constants.NGHTTP2_CANCEL);
        // A finished call whose requests have not ended (an attach the daemon ended) ends its side too.
        else if (!stream.writableEnded) stream.end();
        this.release();
      },
    };
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

interface OpenCall {
  readonly stream: ClientHttp2Stream;
  readonly reader: MessageReader<Buffer | PartedMessage, PartedMessage>;
  /** The responses have ended: throws the call's status when it is not OK. */
  finish(): void;
  /** What a failure is reported as (a cancelled call says so). */
  failed(error: unknown): unknown;
  close(): void;
}

/** A response as protobuf-es decodes it (by hand for a keystroke's echo, see terminal-wire.ts). */
function decode<O extends DescMessage>(schema: O, bytes: Uint8Array): MessageShape<O> {
  return (FAST_CODECS.get(schema)?.decode?.(bytes) as MessageShape<O> | undefined) ?? fromBinary(schema, bytes);
}

/** A request as a gRPC frame: a flag byte, four bytes of length, then the message. */
export function grpcFrame<I extends DescMessage>(schema: I, message: MessageInitShape<I>): Buffer {
  const body = FAST_CODECS.get(schema)?.encode?.(message) ?? toBinary(schema, create(schema, message));
  const framed = Buffer.allocUnsafe(5 + body.byteLength);
  framed[0] = 0;
  framed.writeUInt32BE(body.byteLength, 1);
  framed.set(body, 5);
  return framed;
}

function socketFailure(socketPath: string): (error: unknown) => RpcError {
  return (error) => {
    const code = (error as NodeJS.ErrnoException).code ?? "";
    const message = error instanceof Error ? error.message : String(error);
    return new RpcError(UNAVAILABLE, `lost the connection to the daemon on ${socketPath} (${code || message}): check it with tether daemon status`);
  };
}

const RESPONSE_FRAME_ERRORS: FrameErrors = {
  compressed: () => new RpcError(INTERNAL, "the daemon sent a compressed message, which this client never asks for"),
  tooLarge: (bytes, max) => new RpcError(RESOURCE_EXHAUSTED, `the daemon sent a ${bytes}-byte message, over the ${max}-byte limit`),
  truncated: () => new RpcError(INTERNAL, "the daemon's response ended in the middle of a message"),
};

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
