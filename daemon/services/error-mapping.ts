import type { DescMessage } from "@bufbuild/protobuf";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { ErrorDetailSchema, ErrorReason } from "../../gen/tether/v1/errors_pb.js";
import { TetherError } from "../errors.js";
import { log } from "../log.js";

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
    return { ...res, message: mapStreamErrors(res.message, req.method.input) };
  } catch (error) {
    throw requestDecodeError(toConnectError(error), req.method.input);
  }
};

async function* mapStreamErrors<T>(messages: AsyncIterable<T>, input: DescMessage): AsyncIterable<T> {
  try {
    yield* messages;
  } catch (error) {
    throw requestDecodeError(toConnectError(error), input);
  }
}

const PARSE_BINARY = "parse binary: ";

/**
 * connect-es labels a request it cannot decode from the protobuf binary
 * format `internal` ("parse binary: ..."), though the fault is the caller's:
 * that error becomes INVALID_ARGUMENT, said as gRPC says it
 * (grpc-server.ts); any other error is returned as it is.
 */
export function requestDecodeError(error: ConnectError, input: DescMessage): ConnectError {
  if (error.code !== Code.Internal || !error.rawMessage.startsWith(PARSE_BINARY)) return error;
  return toConnectError(
    new TetherError(
      Code.InvalidArgument,
      "INVALID_ARGUMENT",
      `the request is not a valid ${input.typeName}: ${error.rawMessage.slice(PARSE_BINARY.length)} (encode it with the .proto files in proto/tether/v1, or send JSON with Content-Type application/json)`,
    ),
  );
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
  log(`internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  return new ConnectError(
    `internal error in the daemon: ${error instanceof Error ? error.message : String(error)} (the daemon log has the details)`,
    Code.Internal,
  );
}
