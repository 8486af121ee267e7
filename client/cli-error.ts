import { Code, ConnectError } from "@connectrpc/connect";

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

/** The one line a user sees for any failure. */
export function describeError(error: unknown): string {
  if (error instanceof CliError) return error.message;
  if (error instanceof ConnectError) {
    if (error.code === Code.Unavailable && /ECONNREFUSED|ENOENT|ECONNRESET/.test(String(error.cause ?? error.rawMessage))) {
      return `lost the connection to the daemon (${error.rawMessage}): check it with tether daemon status`;
    }
    return error.rawMessage;
  }
  return error instanceof Error ? error.message : String(error);
}
