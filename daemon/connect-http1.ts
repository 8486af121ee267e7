import { setMaxListeners } from "node:events";
import type { IncomingHttpHeaders, RequestListener, ServerResponse } from "node:http";
import type { DescMessage, DescMethod } from "@bufbuild/protobuf";
import { Code, ConnectError, createConnectRouter, type Interceptor } from "@connectrpc/connect";
import { createAsyncIterable, type UniversalServerResponse } from "@connectrpc/connect/protocol";
import { codeToHttpStatus, errorFromJsonBytes, errorToJsonBytes } from "@connectrpc/connect/protocol-connect";
import { universalRequestFromNodeRequest } from "@connectrpc/connect-node";
import type { CallMemory } from "./call-memory.js";
import { TetherError, requestTooLarge } from "./errors.js";
import { toConnectError } from "./services/error-mapping.js";
import type { ServiceRegistration } from "./services/registration.js";
import { logLimited } from "./log.js";
import { TIMER_MAX_MS } from "./long-timeout.js";
import { choicesHint } from "../common/closest-word.js";

export interface ConnectHttp1Options {
  readonly registrations: readonly ServiceRegistration[];
  readonly interceptors: Interceptor[];
  readonly maxMessageBytes: number;
  /** Aborted when the daemon starts to stop: streaming handlers end. */
  readonly shutdownSignal: AbortSignal;
  /** What all calls hold of requests not yet taken, and of responses not yet read, to a limit each (call-memory.ts). */
  readonly requests: CallMemory;
  readonly responses: CallMemory;
}

/**
 * The Connect protocol over HTTP/1.1 (JSON or binary, unary and server
 * streaming, so `curl --unix-socket` works), served by connect-es's router
 * with the handler objects gRPC uses. It is connect-node's adapter but for
 * two answers and the writing: a request for no procedure gets a Connect
 * error naming what is served (connect-node's is an empty 404), a unary
 * request whose binary body does not decode gets invalid_argument
 * (connect-es decodes it before any interceptor and calls it internal), and
 * responses are written by sendResponse; what a call holds of its request
 * and of its response counts against the daemon's limits over all calls
 * (call-memory.ts). gRPC is served on HTTP/2 (grpc-server.ts); gRPC-web is
 * not served.
 */
export function connectHttp1Handler(options: ConnectHttp1Options): RequestListener {
  // connect-es listens on the stop signal once per call in progress: more than 10 at once is no leak.
  setMaxListeners(0, options.shutdownSignal);
  const router = createConnectRouter({
    interceptors: [...options.interceptors, undecodableStreamRequests],
    // Local socket: compression costs CPU and saves nothing.
    acceptCompression: [],
    // A misspelled field is an error that names it, not a field left out in silence (connect-es ignores unknown JSON fields by default).
    jsonOptions: { ignoreUnknownFields: false },
    readMaxBytes: options.maxMessageBytes,
    writeMaxBytes: options.maxMessageBytes,
    shutdownSignal: options.shutdownSignal,
    grpc: false,
    grpcWeb: false,
  });
  for (const reg of options.registrations) router.service(reg.service, reg.impl);
  const handlers = new Map(router.handlers.map((handler) => [handler.requestPath, handler]));
  const services = options.registrations.map((reg) => reg.service.typeName);
  return (req, res) => {
    const handler = handlers.get(req.url?.split("?", 2)[0] ?? "");
    if (handler === undefined) {
      unknownProcedure(services, req.method, req.url, res);
      return;
    }
    const encoding = compressedWith(req.headers);
    if (encoding !== undefined) {
      refuseCompressed(handler.method, encoding, res);
      return;
    }
    dropFarDeadline(req.headers);
    const request = universalRequestFromNodeRequest(req, res, undefined, undefined);
    handler({ ...request, body: heldBody(request.body as AsyncIterable<Uint8Array>, options.requests) })
      .then((response) => (handler.method.methodKind === "unary" ? undecodableAsInvalidArgument(response, handler.method.input) : response))
      .then((response) => (BARE_STATUSES.has(response.status) ? notServedSo(response, handler.method, req.method, req.headers["content-type"]) : response))
      .then((response) => sendResponse(response, res, options.responses))
      .catch((reason: unknown) => {
        if (ConnectError.from(reason).code !== Code.Aborted) logLimited("HTTP/1.1 call failed", `HTTP/1.1 call ${req.url ?? ""} failed: ${String(reason)}`);
      });
  };
}

/**
 * A Connect-Timeout-Ms too far off for a timer (the protocol allows ten
 * digits, ~115 days; Node's timers ~24.8) is as good as none, as a gRPC
 * deadline that far off is (grpc-call.ts): connect-es would arm a timer
 * with it, which Node fires at once, and the call ended with
 * deadline_exceeded as it began.
 */
function dropFarDeadline(headers: IncomingHttpHeaders): void {
  const timeout = headers["connect-timeout-ms"];
  if (typeof timeout === "string" && /^\d+$/.test(timeout) && Number(timeout) > TIMER_MAX_MS) delete headers["connect-timeout-ms"];
}

/**
 * A request's body as connect-es reads it, which it keeps whole until the
 * end: its bytes are held against every call's limit until then, and a
 * call cut for holding the most ends with that error.
 */
async function* heldBody(body: AsyncIterable<Uint8Array>, memory: CallMemory): AsyncIterable<Uint8Array> {
  let refuse: (error: TetherError) => void = () => undefined;
  const refusal = new Promise<never>((_, reject) => (refuse = reject));
  refusal.catch(() => undefined);
  const hold = memory.hold((error) => refuse(error));
  const chunks = body[Symbol.asyncIterator]();
  let bytes = 0;
  try {
    for (;;) {
      const next = await Promise.race([chunks.next(), refusal]);
      if (next.done === true) return;
      bytes += next.value.byteLength;
      hold.set(bytes);
      yield next.value;
    }
  } catch (error) {
    throw toConnectError(error);
  } finally {
    hold.release();
  }
}

/**
 * Writes a response as connect-node's universalResponseToNodeResponse does,
 * but ends when the connection closes while a write waits for it to drain
 * (connect-node's waits for a "drain" or "error" that a closed response
 * never emits, and the call's handler was left suspended for good: a
 * client gone in the middle of a large answer leaked its call). Each chunk
 * is held against every call's limit until the connection has taken it; a
 * call cut for holding the most loses its connection: a status could not
 * get past the answer its client does not read.
 */
async function sendResponse(response: UniversalServerResponse, res: ServerResponse, memory: CallMemory): Promise<void> {
  const hold = memory.hold((error) => {
    logLimited("call reset", `HTTP/1.1 call ${res.req.url ?? ""} reset: ${error.message}`);
    res.destroy();
  });
  const closed = new Promise<never>((_, reject) => res.once("close", () => reject(new ConnectError("the client closed the connection", Code.Aborted))));
  closed.catch(() => undefined);
  const chunks = response.body?.[Symbol.asyncIterator]();
  try {
    // The first chunk before the head: the handler may still set headers until then.
    let next = chunks === undefined ? undefined : await Promise.race([chunks.next(), closed]);
    res.writeHead(response.status, Object.fromEntries(response.header ?? []));
    for (; next !== undefined && next.done !== true; next = await Promise.race([chunks!.next(), closed])) {
      hold.set(next.value.byteLength);
      if (!res.write(next.value)) await Promise.race([new Promise((resolve) => res.once("drain", resolve)), closed]);
      hold.set(0);
    }
    res.end();
  } catch (error) {
    res.destroy();
    throw error;
  } finally {
    hold.release();
    void chunks?.return?.(undefined).catch(() => undefined);
  }
}

const PARSE_BINARY = "parse binary: ";
/** protobuf-es's words for a JSON request with a field its message does not have. */
const UNKNOWN_JSON_KEY = /^cannot decode message \S+ from JSON: key "(.*)" is unknown$/;
/** connect-es's words for a request over readMaxBytes, which say nothing of what to do. */
const READ_MAX_BYTES = /^message size (\d+) is larger than configured readMaxBytes (\d+)$/;

/**
 * connect-es labels a request it cannot decode from the protobuf binary
 * format `internal` ("parse binary: ..."), though the fault is the caller's:
 * that error becomes INVALID_ARGUMENT, said as gRPC says it
 * (grpc-call.ts); a request over the size limit is said as gRPC says it
 * too; any other error is returned as it is.
 */
function requestDecodeError(error: ConnectError, input: DescMessage): ConnectError {
  const tooLarge = error.code === Code.ResourceExhausted ? READ_MAX_BYTES.exec(error.rawMessage) : null;
  if (tooLarge !== null) return new ConnectError(requestTooLarge(Number(tooLarge[1]), Number(tooLarge[2])), Code.ResourceExhausted);
  const unknownKey = error.code === Code.InvalidArgument ? UNKNOWN_JSON_KEY.exec(error.rawMessage) : null;
  if (unknownKey !== null) {
    const fields = input.fields.map((field) => field.jsonName);
    return toConnectError(
      new TetherError(
        Code.InvalidArgument,
        "INVALID_ARGUMENT",
        `${input.typeName} has no field "${unknownKey[1]}": ${choicesHint(unknownKey[1]!, fields, "fields it has")} (or their names in the .proto files, in proto/tether/v1)`,
        { field: unknownKey[1]! },
      ),
    );
  }
  if (error.code !== Code.Internal || !error.rawMessage.startsWith(PARSE_BINARY)) return error;
  return toConnectError(
    new TetherError(
      Code.InvalidArgument,
      "INVALID_ARGUMENT",
      `the request is not a valid ${input.typeName}: ${error.rawMessage.slice(PARSE_BINARY.length)} (encode it with the .proto files in proto/tether/v1, or send JSON with Content-Type application/json)`,
    ),
  );
}

/**
 * A server-streaming request that does not decode: connect-es decodes it
 * inside the interceptors (a unary one before them: undecodableAsInvalidArgument).
 */
const undecodableStreamRequests: Interceptor = (next) => async (req) => {
  try {
    return await next(req);
  } catch (error) {
    throw error instanceof ConnectError ? requestDecodeError(error, req.method.input) : error;
  }
};

/** A unary error answer whose error is a request that did not decode, answered as the caller's fault. */
async function undecodableAsInvalidArgument(response: UniversalServerResponse, input: DescMessage): Promise<UniversalServerResponse> {
  if (!REWORDED_STATUSES.has(response.status) || response.body === undefined) return response;
  const chunks: Uint8Array[] = [];
  for await (const chunk of response.body) chunks.push(chunk);
  const body = Buffer.concat(chunks);
  const error = errorFromJsonBytes(body, undefined, new ConnectError("", Code.Internal));
  const mapped = requestDecodeError(error, input);
  if (mapped === error) return { ...response, body: createAsyncIterable([body]) };
  const answer = errorToJsonBytes(mapped, undefined);
  const header = new Headers(response.header);
  header.set("content-length", String(answer.byteLength));
  return { ...response, status: codeToHttpStatus(mapped.code), header, body: createAsyncIterable([answer]) };
}

/** The statuses of the answers requestDecodeError rewords. */
const REWORDED_STATUSES = new Set([codeToHttpStatus(Code.Internal), codeToHttpStatus(Code.ResourceExhausted), codeToHttpStatus(Code.InvalidArgument)]);

/** connect-es's answers without a body: 405, 415, 505 (notServedSo). */
const BARE_STATUSES = new Set([405, 415, 505]);

/**
 * connect-es answers a request that is not a POST with a bare 405, one
 * whose Content-Type does not fit the method with a bare 415, and a method
 * that streams requests with a bare 505 (the Connect protocol streams both
 * ways only over HTTP/2), which tell a curl user nothing: this answer says
 * what does.
 */
function notServedSo(response: UniversalServerResponse, method: DescMethod, httpMethod: string | undefined, contentType: string | undefined): UniversalServerResponse {
  const name = `${method.parent.typeName}/${method.name}`;
  const sent = contentType === undefined ? "no Content-Type" : `Content-Type ${contentType}`;
  const [code, message] =
    response.status === 405
      ? ["unimplemented", `${name} is called with POST, not ${httpMethod ?? "this method"} (curl: -d '{}' with -H 'Content-Type: application/json')`]
      : method.methodKind === "unary"
      ? ["invalid_argument", `${name} is a unary call: send it with Content-Type application/json (or application/proto), not ${sent}`]
      : method.methodKind === "server_streaming"
        ? ["invalid_argument", `${name} streams its answers: send it with Content-Type application/connect+json (or application/connect+proto), the request after a 0 byte and its 4-byte big-endian length, not ${sent}`]
        : ["unimplemented", `${name} streams requests: call it over gRPC (HTTP/2, grpcurl for one), not over HTTP/1.1`];
  const body = Buffer.from(JSON.stringify({ code, message }));
  return { ...response, header: new Headers({ "content-type": "application/json", "content-length": String(body.byteLength) }), body: createAsyncIterable([body]) };
}

/**
 * What an HTTP/1.1 request for no procedure here gets: 404, as the Connect
 * protocol has it, with a Connect error saying what is served.
 */
function unknownProcedure(services: readonly string[], method: string | undefined, url: string | undefined, res: Parameters<RequestListener>[1]): void {
  const message = `no procedure ${method ?? ""} ${url ?? ""}: the daemon serves ${services.join(", ")}; call one as POST /SERVICE/METHOD with Content-Type application/json (gRPC server reflection lists the methods)`;
  const body = JSON.stringify({ code: "unimplemented", message });
  res.writeHead(404, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) });
  res.end(body);
}

/** The compression a request's body says it has (Content-Encoding, or Connect-Content-Encoding for a stream's messages), when not none. */
function compressedWith(headers: IncomingHttpHeaders): string | undefined {
  const encoding = headers["content-encoding"] ?? headers["connect-content-encoding"];
  return encoding === undefined || encoding === "identity" ? undefined : String(encoding);
}

/**
 * A compressed request, refused saying what to send instead: the daemon
 * takes none (a local socket gains nothing from it), where connect-es said
 * "supported encodings are" and named none.
 */
function refuseCompressed(method: DescMethod, encoding: string, res: Parameters<RequestListener>[1]): void {
  const message = `${method.parent.typeName}/${method.name}: the daemon takes no compressed requests (${encoding}): send the body as it is, without Content-Encoding (a local socket gains nothing from compression)`;
  const body = JSON.stringify({ code: "unimplemented", message });
  // A request the daemon did not read: the connection closes after the answer, as Node closes one whose body is left unread.
  res.writeHead(501, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body), Connection: "close" });
  res.end(body);
}
