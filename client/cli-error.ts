import { RpcError } from "./grpc-client.js";

/** An error the CLI prints as one line (`tether: ...`) before exiting with `exitCode`. */
export class CliError extends Error {
  override readonly name = "CliError";
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** The one line a user sees for any failure: the daemon's messages already say how to fix it. */
export function describeError(error: unknown): string {
  if (error instanceof CliError || error instanceof RpcError) return error.message;
  return error instanceof Error ? error.message : String(error);
}
