import { createGrpcTransport } from "@connectrpc/connect-node";
import { connect } from "node:net";

/**
 * connect-node's gRPC client on the daemon's socket: the tests' typed client,
 * a well-kept stack independent of the CLI's own transport.
 */
export function createTransport(socketPath: string): ReturnType<typeof createGrpcTransport> {
  return createGrpcTransport({
    baseUrl: "http://localhost",
    nodeOptions: {
      createConnection: () => connect(socketPath),
      settings: { initialWindowSize: 4 * 1024 * 1024 },
      maxSessionMemory: 64,
    },
    acceptCompression: [],
    readMaxBytes: 16 * 1024 * 1024,
    writeMaxBytes: 16 * 1024 * 1024,
  });
}
