import type { Interceptor } from "@connectrpc/connect";
import type { Traffic } from "../traffic.js";

/**
 * Counts each Connect-protocol call (HTTP/1.1, connect-http1.ts) in
 * `traffic` while its handler runs: a unary one until it returns, a
 * streaming one until its responses end, or are abandoned when the client
 * goes. The gRPC server counts its own calls the same way (grpc-server.ts).
 */
export function callCounting(traffic: Traffic): Interceptor {
  return (next) => async (req) => {
    const ended = traffic.callStarted();
    try {
      const res = await next(req);
      if (!res.stream) {
        ended();
        return res;
      }
      return { ...res, message: countedUntilEnd(res.message, ended) };
    } catch (error) {
      ended();
      throw error;
    }
  };
}

async function* countedUntilEnd<T>(messages: AsyncIterable<T>, ended: () => void): AsyncIterable<T> {
  try {
    yield* messages;
  } finally {
    ended();
  }
}
