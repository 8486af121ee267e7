import { createGrpcTransport } from "@connectrpc/connect-node";
import { connect } from "node:net";

/** The daemon accepts messages up to 16 MiB; the client matches it. */
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
/** Node's HTTP/2 memory cap per connection, in MB: its default (10) resets a stream carrying one maximal message. */
const HTTP2_SESSION_MEMORY_MB = 64;
/** Large flow-control windows so streamed output is not throttled per round trip. */
const HTTP2_WINDOW_BYTES = 4 * 1024 * 1024;

export type Transport = ReturnType<typeof createGrpcTransport>;

/** gRPC over HTTP/2 on the daemon's Unix socket. */
export function createTransport(socketPath: string): Transport {
  return createGrpcTransport({
    baseUrl: "http://localhost",
    nodeOptions: {
      createConnection: () => connect(socketPath),
      settings: { initialWindowSize: HTTP2_WINDOW_BYTES },
      maxSessionMemory: HTTP2_SESSION_MEMORY_MB,
    },
    acceptCompression: [],
    readMaxBytes: MAX_MESSAGE_BYTES,
    writeMaxBytes: MAX_MESSAGE_BYTES,
  });
}

/** Resolves true when something accepts connections on the socket. */
export function socketAnswers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect(socketPath);
    probe.once("connect", () => {
      probe.destroy();
      resolve(true);
    });
    probe.once("error", () => resolve(false));
  });
}
