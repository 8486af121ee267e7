import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { ErrorDetailSchema, ErrorReason } from "../../gen/tether/v1/errors_pb.js";
import { TetherError, isOutOfDescriptors, outOfDescriptors } from "../errors.js";
import { logLimited } from "../log.js";
import { isSqliteError, storeCode, storeFix } from "../store/store-errors.js";

/**
 * Turns every error a handler throws into a ConnectError carrying a
 * tether.v1.ErrorDetail, for unary calls and for errors raised while a
 * response stream is being produced. Unexpected errors become Internal with
 * a pointer to the daemon log, where the stack trace goes.
 */
export const errorMapping: Interceptor = (next) => async (req) => {
  try {
    const res = await next(req);
    if (!res.stream) return res;
    return { ...res, message: mapStreamErrors(res.message) };
  } catch (error) {
    throw toConnectError(error);
  }
};

async function* mapStreamErrors<T>(messages: AsyncIterable<T>): AsyncIterable<T> {
  try {
    yield* messages;
  } catch (error) {
    throw toConnectError(error);
  }
}

export function toConnectError(error: unknown): ConnectError {
  if (error instanceof TetherError) {
    return new ConnectError(error.message, error.code, undefined, [
      {
        desc: ErrorDetailSchema,
        value: { reason: ErrorReason[error.reason], metadata: { ...error.metadata } },
      },
    ]);
  }
  if (error instanceof ConnectError) return error;
  if (clientWentAway(error)) return new ConnectError("the client went away: its connection closed", Code.Canceled);
  if (isOutOfDescriptors(error)) {
    logLimited("out of descriptors", `a call failed for want of a file descriptor: ${(error as Error).message}`);
    return toConnectError(outOfDescriptors(`the call failed (${(error as Error).message})`));
  }
  if (isSqliteError(error)) {
    // The state could not be written or read (a full disk, an I/O error, a damaged file): not a fault of the daemon's code.
    logLimited("store failed", `a call failed on the state database: ${error.code}: ${error.message}`);
    return toConnectError(new TetherError(storeCode(error), "STORE_FAILED", `the state database failed the call (${error.code}: ${error.message}): ${storeFix(error)}`));
  }
  logLimited("internal error", `internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  return new ConnectError(
    `internal error in the daemon: ${error instanceof Error ? error.message : String(error)} (the daemon log has the details)`,
    Code.Internal,
  );
}

/**
 * An abort with no reason of its own: connect-node's, when an HTTP/1.1
 * client's connection closes in the middle of a call (HTTP/2 aborts with a
 * ConnectError). tether's own aborts always give a reason, so this one is a
 * client's going, not a fault to log with its stack.
 */
function clientWentAway(error: unknown): boolean {
  return error instanceof DOMException && error.name === "AbortError";
}
