import { Code, ConnectError } from "@connectrpc/connect";
import { createServer, type Http2Session, type IncomingHttpHeaders, type ServerHttp2Session, type ServerHttp2Stream } from "node:http2";
import type { Socket } from "node:net";
import { HTTP2_SESSION_MEMORY_MB } from "../common/grpc-limits.js";
import { CallContexts } from "./call-context.js";
import { sendTrailersOnly, ServerCall, takesEncoding, type Route } from "./grpc-call.js";
import type { ServiceRegistration } from "./services/registration.js";
import { CALLS_PER_CONNECTION_MAX, servedPastTheLimit, type Limit } from "./traffic-limits.js";
import type { Traffic } from "./traffic.js";

/**
 * The window the daemon offers each client's connection as a whole stays
 * HTTP/2's default, 64 KiB, far below what a Unix socket buffers (~208 KiB
 * here), while each stream gets `windowBytes`. Node's HTTP/2 stops reading
 * its socket while one of its own writes to it is unfinished; two Node
 * peers that both write more than the socket holds (a client piping stdin
 * into `exec -- cat`, or lines into `attach`, while the daemon writes
 * output and answers back) each wait for the other to read, for ever:
 * `tether exec w -- cat < 200MB` stopped after 64 KiB of output, with both
 * sockets' queues full. A client can then have at most 64 KiB on its way
 * to the daemon, which the socket always takes, so its writes finish and it
 * goes on reading whatever the daemon writes. Node takes back the
 * connection's window as data arrives, even for a stream whose handler is
 * not reading (that one waits on its own window), so a paused call does not
 * hold up the others on its connection. Uploads cost ~20% (200 MB of stdin
 * in ~1.9 s rather than ~1.5 s); downloads keep their 4 MiB windows.
 */
const CONNECTION_WINDOW_BYTES = 65_535;

export interface GrpcServerOptions {
  readonly registrations: readonly ServiceRegistration[];
  readonly maxMessageBytes: number;
  /** The HTTP/2 flow-control window offered to clients per stream (the connection's stays at HTTP/2's 64 KiB: CONNECTION_WINDOW_BYTES). */
  readonly windowBytes: number;
  /** Aborted when the daemon starts to stop: streaming handlers end. */
  readonly shutdownSignal: AbortSignal;
  /** Counts each call while its handler runs. */
  readonly traffic: Traffic;
  /** The most calls served at once over all connections (traffic-limits.ts), counted by `traffic`; past it, a call gets the limit's refusal. */
  readonly calls: Limit;
}

export interface GrpcServer {
  /**
   * Serves one HTTP/2 connection (whatever was read of it already
   * unshifted); with `refusal`, answers its calls with that error and
   * closes it.
   */
  serve(socket: Socket, refusal?: unknown): void;
  /** Sends every connection a GOAWAY: calls in flight finish, new ones go elsewhere. */
  drain(): void;
  /** Closes every connection now. */
  destroy(): void;
}


/**
 * Serves gRPC over HTTP/2 with node:http2, calling the same handler
 * implementations that connect-http1.ts serves over HTTP/1.1 (each call:
 * grpc-call.ts): the gRPC protocol
 * is five bytes of framing per message and a status in the trailers, and
 * doing just that took the server's cost of a unary call here from 286 µs
 * (@grpc/grpc-js's server, which turns each call into Node object streams)
 * to 245-250 µs, against 191-226 µs for a bare node:http2 echo (paired runs;
 * the README's architecture section). grpc-js stays as the test suite's
 * independent client.
 *
 * Each handler gets a HandlerContext (call-context.ts) whose signal aborts when the
 * client cancels, its deadline (grpc-timeout) passes, or the daemon stops;
 * its errors become gRPC statuses carrying tether.v1.ErrorDetail, encoded by
 * connect's own gRPC trailer code so both protocols report an error alike.
 */
export function createGrpcServer(options: GrpcServerOptions): GrpcServer {
  const routes = new Map<string, Route>();
  for (const reg of options.registrations) {
    for (const method of reg.service.methods) {
      const impl = reg.handler(method.localName);
      const url = `/${reg.service.typeName}/${method.name}`;
      if (impl !== undefined) routes.set(url, { service: reg.service, method, impl, url });
    }
  }
  const server = createServer({
    settings: { initialWindowSize: options.windowBytes, maxConcurrentStreams: CALLS_PER_CONNECTION_MAX },
    maxSessionMemory: HTTP2_SESSION_MEMORY_MB,
  });
  const sessions = new Set<ServerHttp2Session>();
  const contexts = new CallContexts(options.shutdownSignal);
  /** Sessions whose calls get an error (a connection past the daemon's limit), and the one serve() is starting. */
  const refused = new WeakMap<Http2Session, unknown>();
  let refusing: unknown;
  server.on("session", (session) => {
    // Emitted while serve() emits the connection.
    if (refusing !== undefined) refused.set(session, refusing);
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
    session.on("error", () => session.destroy());
    session.setLocalWindowSize(CONNECTION_WINDOW_BYTES);
  });
  server.on("stream", (stream, headers) => {
    stream.on("error", () => {});
    const sessionRefusal = refused.get(stream.session!);
    if (sessionRefusal !== undefined) {
      // One call on a connection past the limit, then it closes.
      stream.session?.close();
      if (!servedPastTheLimit(String(headers[":path"]))) {
        sendTrailersOnly(stream, sessionRefusal);
        return;
      }
    }
    if (options.traffic.calls >= options.calls.max && !servedPastTheLimit(String(headers[":path"]))) {
      sendTrailersOnly(stream, options.calls.refusal);
      return;
    }
    if (!isGrpc(headers)) {
      answerNotGrpc(stream, headers);
      return;
    }
    const route = routes.get(String(headers[":path"]));
    const refusedCall = refusal(headers, route);
    if (refusedCall !== undefined) {
      sendTrailersOnly(stream, refusedCall);
      return;
    }
    new ServerCall(route!, stream, headers, options.maxMessageBytes, contexts, options.traffic).start();
  });
  return {
    serve: (socket, refusal) => {
      refusing = refusal;
      try {
        server.emit("connection", socket);
      } finally {
        refusing = undefined;
      }
    },
    drain: () => {
      for (const session of sessions) session.close();
    },
    destroy: () => {
      for (const session of sessions) session.destroy();
    },
  };
}

function isGrpc(headers: IncomingHttpHeaders): boolean {
  const contentType = headers["content-type"] ?? "";
  return contentType.startsWith("application/grpc") && !contentType.startsWith("application/grpc-web");
}

/**
 * A request over HTTP/2 that is not gRPC (the Connect protocol, JSON,
 * gRPC-Web): 415 with a Connect error in JSON saying what to use, which a
 * Connect client reads as such (a gRPC status in trailers it took for a
 * response of the wrong type, and said only that).
 */
function answerNotGrpc(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
  const contentType = headers["content-type"] ?? "no content-type";
  const message = `HTTP/2 requests here are gRPC (content-type application/grpc), not ${contentType}: for the Connect protocol or JSON use HTTP/1.1 (connect-es: httpVersion "1.1"; curl does by default), or call with a gRPC client`;
  const body = Buffer.from(JSON.stringify({ code: "unimplemented", message }));
  stream.respond({ ":status": 415, "content-type": "application/json", "content-length": body.length });
  stream.end(body);
}

/** Why a gRPC request is not served (a status for a trailers-only response), or nothing when it is. */
function refusal(headers: IncomingHttpHeaders, route: Route | undefined): ConnectError | undefined {
  if (headers[":method"] !== "POST") return new ConnectError("gRPC calls are POST requests", Code.Unimplemented);
  if (route === undefined) {
    return new ConnectError(`unknown method ${String(headers[":path"])}: the daemon serves tether.v1 services (list them with gRPC server reflection)`, Code.Unimplemented);
  }
  const encoding = String(headers["grpc-encoding"] ?? "identity");
  if (!takesEncoding(encoding)) {
    return new ConnectError(`this daemon does not decompress ${encoding} messages: send them uncompressed, or with gzip or deflate (grpc-encoding)`, Code.Unimplemented);
  }
  return undefined;
}
