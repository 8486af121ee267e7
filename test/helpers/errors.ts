import { ConnectError, type Code } from "@connectrpc/connect";
import { ErrorDetailSchema, type ErrorReason } from "../../gen/tether/v1/errors_pb.js";

/** Awaits a call that must fail; its gRPC code, our reason and the message. */
export async function failure(call: Promise<unknown>): Promise<{ code: Code; reason: ErrorReason | undefined; message: string }> {
  const error = await call.then(
    () => {
      throw new Error("the call succeeded, but it should have failed");
    },
    (e: unknown) => ConnectError.from(e),
  );
  return { code: error.code, reason: error.findDetails(ErrorDetailSchema)[0]?.reason, message: error.rawMessage };
}
