import { createServer as createHttp1Server, type Server as Http1Server } from "node:http";
import { existsSync } from "node:fs";
import { createServer as createNetServer, type Server, type Socket } from "node:net";
import { dirname } from "node:path";
import { HTTP2_WINDOW_BYTES, MAX_MESSAGE_BYTES } from "../common/grpc-limits.js";
import { errorToJsonBytes } from "@connectrpc/connect/protocol-connect";
import { connectHttp1Handler } from "./connect-http1.js";
import { connectionLimit, sandboxConnectionLimit, servedPastTheLimit, trafficLimits, type Limit } from "./traffic-limits.js";
import type { TetherError } from "./errors.js";
import { logLimited } from "./log.js";
import { growSendBuffer } from "./process/native-descriptors.js";
import { toConnectError } from "./services/error-mapping.js";
import { createGrpcServer, type GrpcServer } from "./grpc-server.js";
import { callCounting } from "./services/call-counting.js";
import { errorMapping } from "./services/error-mapping.js";
import type { ServiceRegistration } from "./services/registration.js";
import { ensurePrivateDir, listenOnSocket } from "./socket.js";
import { Traffic } from "./traffic.js";

/** The first bytes of every HTTP/2 connection (RFC 9113, section 3.4). */
const HTTP2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

/**
 * What each connection's send buffer is asked to hold (the kernel keeps
 * twice this, within net.core.wmem_max; a Unix socket's default is 208
 * KiB). The daemon's thread stops feeding a socket while it works (reading
 * a 1 MiB batch of records from SQLite takes ~0.5 ms; its reader drains 208
 * KiB in ~0.3 ms), and with the default buffer the reader waited on it:
 * ReadJournal streamed 500-600 MB/s to the CLI's client, and 690-950 with
 * 1 MiB kept (paired probes, 2026-12-06). The cost is kernel memory, only
 * while a client leaves that much unread.
 */
const SEND_BUFFER_BYTES = 512 * 1024;

export interface ServerOptions {
  readonly socketPath: string;
  readonly registrations: readonly ServiceRegistration[];
  /**
   * The socket bound into bwrap sandboxes in place of socketPath, and what it
   * serves there (sandboxed-calls.ts): the path alone tells a sandboxed
   * command's calls from everyone else's.
   */
  readonly sandbox: { readonly socketPath: string; readonly registrations: readonly ServiceRegistration[] };
  /** Aborted when the daemon starts to stop: streaming handlers end. */
  readonly shutdownSignal: AbortSignal;
  /** Counts the connections and calls served. */
  readonly traffic: Traffic;
}

export interface RunningServer {
  /** Stops accepting, lets in-flight calls finish for up to graceMs, then closes every connection. */
  close(graceMs: number): Promise<void>;
  /**
   * Listens on the socket path again when its file is gone (removed by hand,
   * or by a cleaner of $XDG_RUNTIME_DIR): the old listener still holds the
   * removed file, which no client can reach. True when it did.
   */
  restoreSocket(): Promise<boolean>;
}

/**
 * Serves every RPC on one Unix socket: gRPC over HTTP/2 (grpc-server.ts),
 * and the Connect protocol over HTTP/1.1 (JSON or binary, unary and server
 * streaming, so `curl --unix-socket` works; connect-http1.ts). Both call
 * the same handler objects, so there is one implementation of every RPC.
 * Each connection is routed by its first bytes: the HTTP/2 preface goes to
 * the gRPC server, anything else to HTTP/1.1.
 */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const maxConnections = connectionLimit();
  const serve = (registrations: readonly ServiceRegistration[], traffic: Traffic, limits: ReturnType<typeof trafficLimits>): Served => ({
    traffic,
    connections: limits.connections,
    h1: createHttp1Server(
      connectHttp1Handler({
        registrations,
        interceptors: [callCounting(traffic), errorMapping],
        maxMessageBytes: MAX_MESSAGE_BYTES,
        shutdownSignal: options.shutdownSignal,
        requests: traffic.requests,
        responses: traffic.responses,
      }),
    ),
    h2: createGrpcServer({
      registrations,
      maxMessageBytes: MAX_MESSAGE_BYTES,
      windowBytes: HTTP2_WINDOW_BYTES,
      shutdownSignal: options.shutdownSignal,
      traffic,
      calls: limits.calls,
    }),
  });
  const everyone = serve(options.registrations, options.traffic, trafficLimits(maxConnections, false));
  // The sandboxes' share counts in the whole too, so together they leave everyone else at least the rest.
  const sandboxed = serve(options.sandbox.registrations, new Traffic(options.traffic), trafficLimits(sandboxConnectionLimit(maxConnections), true));
  const sockets = new Set<Socket>();
  const listen = async (socketPath: string, { traffic, connections, h1, h2 }: Served): Promise<Server> => {
    const listener = createNetServer((socket) => {
      const full = options.traffic.connections >= maxConnections ? everyone.connections : traffic.connections >= connections.max ? connections : undefined;
      const refusal = full?.refusal;
      if (refusal !== undefined) logLimited("connection refused", `connection refused: ${refusal.message}`);
      sockets.add(socket);
      const closed = traffic.connectionOpened();
      socket.once("close", () => {
        sockets.delete(socket);
        closed();
      });
      socket.on("error", () => socket.destroy());
      growSendBuffer(socket, SEND_BUFFER_BYTES);
      route(socket, h2, h1, refusal);
    });
    await listenOnSocket(listener, socketPath);
    return listener;
  };
  // The sandbox's socket first: once the daemon answers on its own, sandboxes can be started.
  const listeners = [await listen(options.sandbox.socketPath, sandboxed), await listen(options.socketPath, everyone)];
  return {
    async restoreSocket() {
      if (existsSync(options.socketPath)) return false;
      ensurePrivateDir(dirname(options.socketPath));
      listeners.push(await listen(options.socketPath, everyone));
      return true;
    },
    async close(graceMs) {
      const closed = Promise.all(listeners.map((listener) => new Promise<void>((resolve) => listener.close(() => resolve()))));
      for (const { h1, h2 } of [everyone, sandboxed]) {
        h2.drain();
        h1.closeIdleConnections();
      }
      // A connection the daemon has said all it will on (an HTTP/2 session closed
      // once its calls ended: GOAWAY sent, the socket ended) is closed at once, not
      // when its client closes its side: a client that keeps it would hold the stop.
      for (const socket of sockets) {
        if (socket.writableFinished) socket.destroy();
        else socket.once("finish", () => socket.destroy());
      }
      const deadline = setTimeout(() => {
        everyone.h2.destroy();
        sandboxed.h2.destroy();
        for (const socket of sockets) socket.destroy();
      }, graceMs);
      await closed;
      clearTimeout(deadline);
      everyone.h2.destroy();
      sandboxed.h2.destroy();
    },
  };
}

/** The servers of one socket, and what they count and take. */
interface Served {
  readonly traffic: Traffic;
  readonly connections: Limit;
  readonly h1: Http1Server;
  readonly h2: GrpcServer;
}

/** Hands the connection to the server its first bytes name; with `refusal`, its first call is answered that error and it is closed. */
function route(socket: Socket, h2: GrpcServer, h1: Http1Server, refusal: TetherError | undefined): void {
  let seen = Buffer.alloc(0);
  const onData = (chunk: Buffer): void => {
    seen = Buffer.concat([seen, chunk]);
    const n = Math.min(seen.length, HTTP2_PREFACE.length);
    const isHttp2 = seen.subarray(0, n).equals(HTTP2_PREFACE.subarray(0, n));
    if (isHttp2 && n < HTTP2_PREFACE.length) return;
    socket.off("data", onData);
    socket.pause();
    // Both servers read what was already taken off the socket first.
    socket.unshift(seen);
    if (isHttp2) {
      // A node:http2 session takes over the socket's handle and first drains
      // what is buffered, the unshifted preface included.
      h2.serve(socket, refusal);
    } else if (refusal !== undefined && !servedPastTheLimit(requestPath(seen))) {
      refuseHttp1(socket, refusal);
    } else {
      // The HTTP/1.1 server reads through the socket's stream: let it flow again.
      h1.emit("connection", socket);
      socket.resume();
    }
  };
  socket.on("data", onData);
}

/** The path of an HTTP/1.1 request from its first bytes ("POST /path HTTP/1.1"), as far as they go. */
function requestPath(firstBytes: Buffer): string {
  return firstBytes.toString("latin1", 0, 256).split(" ", 2)[1] ?? "";
}

/**
 * An HTTP/1.1 connection past the daemon's limit: a Connect error (429, as
 * the protocol maps RESOURCE_EXHAUSTED) before its request is read, then
 * closed; what the client sends meanwhile is read and dropped.
 */
function refuseHttp1(socket: Socket, refusal: TetherError): void {
  const body = Buffer.from(errorToJsonBytes(toConnectError(refusal), undefined));
  socket.resume();
  socket.end(
    Buffer.concat([
      Buffer.from(`HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`),
      body,
    ]),
  );
}
