import { RUN_TOKEN_HEADER } from "../common/run-token.js";
import { create, fromBinary, toBinary, type DescMessage, type DescMethod, type DescService } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { parseTimeout, setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { constants, type IncomingHttpHeaders, type OutgoingHttpHeaders, type ServerHttp2Stream } from "node:http2";
import { gunzipSync, inflateSync } from "node:zlib";
import { GrpcFrames, MessageReader, type FrameErrors } from "../common/grpc-frames.js";
import { FAST_CODECS } from "../common/terminal-wire.js";
import { CALL_CLOSED, type CallContext, type CallContexts, TAKE_NOW, type TakeNow } from "./call-context.js";
import type { CallHold } from "./call-memory.js";
import { requestTooLarge } from "./errors.js";
import { logLimited } from "./log.js";
import { TIMER_MAX_MS } from "./long-timeout.js";
import { encodingOf } from "./services/encoded-messages.js";
import { toConnectError } from "./services/error-mapping.js";
import type { AnyHandler } from "./services/registration.js";
import type { Traffic } from "./traffic.js";

/**
 * Encoded responses of one streaming call that may wait to be handed to
 * HTTP/2 (at least one always may). Per call, so it multiplies: with 100
 * clients attached to one busy session, 256 KiB here held the daemon at
 * ~260 MB RSS and 64 KiB at ~220 MB, delivering as fast; a stream of large
 * messages (ReadJournal's are up to 1 MiB) has one in flight either way.
 */
const STREAM_UNWRITTEN_MAX_BYTES = 64 * 1024;
/** Decoded requests of one streaming call waiting for its handler: above this the stream is paused, and HTTP/2 flow control holds the client. */
const REQUESTS_QUEUED_MAX_BYTES = 256 * 1024;
/** The longest deadline a client may set (grpc-timeout); longer ones are treated as none. */
const MAX_TIMEOUT_MS = TIMER_MAX_MS;
const CONTENT_TYPE = "application/grpc+proto";
/** A message up to this size is written as one buffer; a larger one as its parts (no copy). */
const JOIN_MAX_BYTES = 16 * 1024;

/** A method served: its service, its handler and the path it is called by. */
export interface Route {
  readonly service: DescService;
  readonly method: DescMethod;
  readonly impl: AnyHandler;
  readonly url: string;
}

/**
 * Request compressions the daemon takes (a client may compress what it
 * sends; responses go uncompressed: on a local socket compressing costs CPU
 * and saves nothing). Decompressed sizes are held to the message limit.
 */
const INFLATE: Record<string, (message: Buffer, maxBytes: number) => Buffer> = {
  gzip: (message, maxBytes) => gunzipSync(message, { maxOutputLength: maxBytes }),
  deflate: (message, maxBytes) => inflateSync(message, { maxOutputLength: maxBytes }),
};
const ACCEPT_ENCODING = ["identity", ...Object.keys(INFLATE)].join(",");

/** Whether the daemon takes request messages compressed with `encoding` (grpc-encoding). */
export function takesEncoding(encoding: string): boolean {
  return encoding === "identity" || encoding in INFLATE;
}

function decompressor(encoding: string | undefined, maxBytes: number): ((message: Buffer) => Buffer) | undefined {
  const inflate = encoding === undefined ? undefined : INFLATE[encoding];
  if (inflate === undefined) return undefined;
  return (message) => {
    try {
      return inflate(message, maxBytes);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") {
        throw new ConnectError(`a request message decompresses to more than the ${maxBytes}-byte limit: send smaller messages`, Code.ResourceExhausted);
      }
      throw new ConnectError(`a request message is not valid ${encoding} data (${error instanceof Error ? error.message : String(error)})`, Code.InvalidArgument);
    }
  };
}

/** The gRPC status of `error` as trailers. */
function statusTrailers(error: unknown): OutgoingHttpHeaders {
  const trailers: OutgoingHttpHeaders = {};
  if (error === undefined) {
    trailers["grpc-status"] = "0";
    return trailers;
  }
  const connectError = toConnectError(error);
  setTrailerStatus(new Headers(), connectError).forEach((value, key) => (trailers[key] = value));
  if (connectError.rawMessage !== "") trailers["grpc-message"] = grpcMessage(connectError.rawMessage);
  return trailers;
}

/**
 * A status message as gRPC's spec percent-encodes it: only bytes outside
 * printable ASCII, and '%'. connect-node's encodeURIComponent encodes
 * ':', ',', '/' and the like too, which clients that decode with decodeURI
 * (grpc-js) then show as "%3A": every message of ours says "...: how to
 * fix it".
 */
export function grpcMessage(text: string): string {
  let out = "";
  for (const byte of Buffer.from(text)) {
    out += byte < 0x20 || byte > 0x7e || byte === 0x25 ? `%${byte.toString(16).toUpperCase().padStart(2, "0")}` : String.fromCharCode(byte);
  }
  // An HTTP/2 field value must not start or end with a space (RFC 9113 8.2.1): Node's client drops such a
  // header, and the message with it ("is not one of a, b, " where a choice is empty). Encoded, it reads back.
  return out.replace(/^ +| +$/g, (spaces) => "%20".repeat(spaces.length));
}

export function sendTrailersOnly(stream: ServerHttp2Stream, error: unknown): void {
  if (stream.closed || stream.destroyed || stream.headersSent) return;
  stream.respond({ ":status": 200, "content-type": CONTENT_TYPE, "grpc-accept-encoding": ACCEPT_ENCODING, ...statusTrailers(error) }, { endStream: true });
}

const REQUEST_FRAME_ERRORS: FrameErrors = {
  compressed: () => new ConnectError("a request message is compressed but the call names no grpc-encoding: name it (gzip or deflate), or send it uncompressed", Code.InvalidArgument),
  tooLarge: (bytes, max) => new ConnectError(requestTooLarge(bytes, max), Code.ResourceExhausted),
  truncated: () => new ConnectError("the request ended in the middle of a message", Code.InvalidArgument),
};

/** One call: its requests in, its handler run, its responses and status out. */
export class ServerCall {
  private readonly ctx: CallContext;
  private readonly frames: GrpcFrames;
  private finished = false;
  /** Bytes written but not yet handed to HTTP/2 (each write's callback takes its bytes off). */
  private unwritten = 0;
  private wakeWriter: (() => void) | undefined;
  /** A request header the call cannot be served with (a malformed grpc-timeout). */
  private readonly refused: ConnectError | undefined;
  /** What the call holds of its requests (messages arriving or queued), counted against every call's limit. */
  private readonly requestHold: CallHold;
  /** What the call holds of its responses (written, not yet taken by HTTP/2), likewise. */
  private readonly responseHold: CallHold;
  /** The call's handler has ended (or never started): Traffic counts it no more. */
  private readonly ended: () => void;
  /** Lets go of the requests held when the call is refused for holding too much. */
  private dropRequests: ((error: unknown) => void) | undefined;

  constructor(
    private readonly route: Route,
    private readonly stream: ServerHttp2Stream,
    headers: IncomingHttpHeaders,
    maxMessageBytes: number,
    contexts: CallContexts,
    traffic: Traffic,
  ) {
    this.ended = traffic.callStarted();
    const encoding = headers["grpc-encoding"];
    this.frames = new GrpcFrames(maxMessageBytes, REQUEST_FRAME_ERRORS, decompressor(typeof encoding === "string" ? encoding : undefined, maxMessageBytes));
    const timeout = parseTimeout(typeof headers["grpc-timeout"] === "string" ? headers["grpc-timeout"] : null, MAX_TIMEOUT_MS);
    // A deadline too far off for a timer (over ~24 days) is as good as none.
    const timeoutMs = timeout.timeoutMs !== undefined && timeout.timeoutMs <= MAX_TIMEOUT_MS ? timeout.timeoutMs : undefined;
    this.ctx = contexts.create(route.service, route.method, route.url, timeoutMs);
    // The one request header a handler reads (sandboxed-calls.ts); the rest stay off the call's path.
    const token = headers[RUN_TOKEN_HEADER];
    if (typeof token === "string") this.ctx.requestHeader.set(RUN_TOKEN_HEADER, token);
    this.refused = timeout.timeoutMs === undefined ? timeout.error : undefined;
    // A deadline that passes ends the call with DEADLINE_EXCEEDED even if its handler goes on.
    if (timeoutMs !== undefined) {
      this.ctx.signal.addEventListener("abort", () => {
        const reason: unknown = this.ctx.signal.reason;
        if (reason instanceof ConnectError && reason.code === Code.DeadlineExceeded) this.finish(reason);
      });
    }
    this.requestHold = traffic.requests.hold((error) => {
      this.dropRequests?.(error);
      this.finish(error);
    });
    // Responses the client does not read cannot be followed by a status: the stream is reset, which lets go of them.
    this.responseHold = traffic.responses.hold((error) => {
      logLimited("call reset", `call ${route.url} reset: ${error.message}`);
      this.finished = true;
      stream.close(constants.NGHTTP2_ENHANCE_YOUR_CALM);
      this.wake();
    });
    stream.once("close", () => {
      this.finished = true;
      this.requestHold.release();
      this.responseHold.release();
      this.ctx.abort(CALL_CLOSED);
      this.wake();
    });
  }

  start(): void {
    const { method, impl } = this.route;
    if (this.refused !== undefined) this.finish(this.refused);
    if (this.finished) return this.ended();
    const requestStream = method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming";
    if (requestStream) {
      const reader = new MessageReader(this.stream, this.frames, (bytes) => decode(method.input, bytes), {
        maxQueuedBytes: REQUESTS_QUEUED_MAX_BYTES,
        malformed: (error) => this.finish(error),
        closedEarly: () => new ConnectError("the client closed the call", Code.Canceled),
        holding: (bytes) => this.requestHold.set(bytes),
      });
      this.dropRequests = (error) => reader.abandon(error);
      // Ending the iteration early leaves the call open: an attach that stops reading input still streams its output.
      const requests: AsyncIterable<unknown> & { [TAKE_NOW]: TakeNow<unknown> } = {
        [Symbol.asyncIterator]: () => ({
          next: () => reader.next().then((message) => (message === undefined ? { value: undefined, done: true } : { value: message, done: false })),
          return: async () => ({ value: undefined, done: true }),
        }),
        [TAKE_NOW]: (take) => reader.takeNow(take),
      };
      if (method.methodKind === "client_streaming") this.answer(() => impl(requests, this.ctx));
      else void this.pump(() => impl(requests, this.ctx) as AsyncIterable<unknown>);
      return;
    }
    void this.singleRequest().then((request) => {
      if (request === undefined) return this.ended();
      if (method.methodKind === "unary") this.answer(() => impl(request, this.ctx));
      else void this.pump(() => impl(request, this.ctx) as AsyncIterable<unknown>);
    });
  }

  /**
   * The one request of a unary or server-streaming call, or undefined when
   * the call failed. A refused request's status is sent at once; the rest of
   * its body is read and dropped, so the client gets the status, not a reset.
   */
  private singleRequest(): Promise<unknown> {
    return new Promise((resolve) => {
      const messages: Uint8Array[] = [];
      let messageBytes = 0;
      const fail = (error: unknown): void => {
        this.stream.off("data", onData).off("end", onEnd);
        this.frames.clear();
        messages.length = 0;
        this.requestHold.release();
        this.finish(error);
        resolve(undefined);
      };
      this.dropRequests = fail;
      const onData = (chunk: Buffer): void => {
        try {
          for (const message of this.frames.push(chunk)) {
            messages.push(message);
            messageBytes += message.byteLength;
          }
        } catch (error) {
          fail(error);
          return;
        }
        this.requestHold.set(messageBytes + this.frames.heldBytes);
      };
      const onEnd = (): void => {
        try {
          this.frames.end();
          if (messages.length !== 1) throw new ConnectError(`expected one request message, got ${messages.length}`, Code.Unimplemented);
          const request = decode(this.route.method.input, messages[0]!);
          this.requestHold.release();
          resolve(request);
        } catch (error) {
          fail(error);
        }
      };
      this.stream.on("data", onData).once("end", onEnd);
      this.stream.once("close", () => resolve(undefined));
    });
  }

  /** Unary and client-streaming calls: one response, then the status. */
  private answer(run: () => unknown): void {
    Promise.resolve()
      .then(run)
      .then(
        (response) => {
          if (this.finished) return;
          this.write(this.encode(response));
          this.finish(undefined);
        },
        (error: unknown) => this.finish(error),
      )
      .finally(this.ended);
  }

  /**
   * Streaming responses: each written as it comes, at most
   * STREAM_UNWRITTEN_MAX_BYTES of them waiting to be handed to HTTP/2 (whose
   * flow control holds them while the client does not read): so a client
   * that reads slowly, or not at all, holds a bounded number of bytes of
   * this daemon's memory, however small its messages.
   */
  private async pump(responses: () => AsyncIterable<unknown>): Promise<void> {
    // While the handler is asked for its next response, every earlier one is written: one
    // sent now (SendNow) cannot overtake any.
    let waitingForHandler = false;
    this.ctx.sendNow = (response) => {
      if (!waitingForHandler || this.finished || this.unwritten > STREAM_UNWRITTEN_MAX_BYTES) return false;
      this.write(this.encode(response));
      return true;
    };
    try {
      const iterator = responses()[Symbol.asyncIterator]();
      for (;;) {
        let next: IteratorResult<unknown>;
        waitingForHandler = true;
        try {
          next = await iterator.next();
        } finally {
          waitingForHandler = false;
        }
        if (next.done === true) break;
        if (this.finished) {
          await iterator.return?.();
          return;
        }
        this.write(this.encode(next.value));
        while (this.unwritten > STREAM_UNWRITTEN_MAX_BYTES && !this.finished) await new Promise<void>((resolve) => (this.wakeWriter = resolve));
      }
      this.finish(undefined);
    } catch (error) {
      this.finish(error);
    } finally {
      this.ended();
    }
  }

  private encode(response: unknown): readonly Uint8Array[] {
    return encodingOf(response) ?? [toBinary(this.route.method.output, create(this.route.method.output, response as never))];
  }

  /** Writes one message: its parts after a 5-byte frame head, joined when small, else each as it is. */
  private write(parts: readonly Uint8Array[]): void {
    if (!this.stream.headersSent) this.stream.respond({ ":status": 200, "content-type": CONTENT_TYPE, "grpc-accept-encoding": ACCEPT_ENCODING }, { waitForTrailers: true });
    let length = 0;
    for (const part of parts) length += part.byteLength;
    const size = length + 5;
    this.unwritten += size;
    const done = (): void => {
      this.unwritten -= size;
      this.responseHold.set(this.unwritten);
      if (this.unwritten <= STREAM_UNWRITTEN_MAX_BYTES) this.wake();
    };
    const head = Buffer.allocUnsafe(5);
    head[0] = 0;
    head.writeUInt32BE(length, 1);
    if (length <= JOIN_MAX_BYTES) {
      this.stream.write(Buffer.concat([head, ...parts], size), done);
    } else {
      const nonEmpty = parts.filter((part) => part.byteLength > 0);
      this.stream.cork();
      this.stream.write(head);
      nonEmpty.forEach((part, i) => this.stream.write(part, i === nonEmpty.length - 1 ? done : undefined));
      this.stream.uncork();
    }
    // Last: past every call's limit, this call may be the one reset.
    this.responseHold.set(this.unwritten);
  }

  /** Ends the call with `error`'s status, or OK. Once. */
  private finish(error: unknown): void {
    if (this.finished) return;
    this.finished = true;
    this.wake();
    const stream = this.stream;
    if (stream.closed || stream.destroyed) return;
    if (!stream.headersSent) {
      sendTrailersOnly(stream, error);
    } else {
      stream.once("wantTrailers", () => stream.sendTrailers(statusTrailers(error)));
      stream.end();
    }
    // The handler may still be reading requests: they are not wanted any more.
    stream.resume();
  }

  private wake(): void {
    const w = this.wakeWriter;
    this.wakeWriter = undefined;
    w?.();
  }
}

/** A request as protobuf-es decodes it (by hand for a keystroke, see terminal-wire.ts). */
function decode(schema: DescMessage, bytes: Uint8Array): unknown {
  try {
    return FAST_CODECS.get(schema)?.decode?.(bytes) ?? fromBinary(schema, bytes);
  } catch (error) {
    throw new ConnectError(`the request is not a valid ${schema.typeName}: ${error instanceof Error ? error.message : String(error)}`, Code.InvalidArgument);
  }
}
