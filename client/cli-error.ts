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

/**
 * A usage error (exit 2) that shows the usage of `command` alone (`tether
 * pty resize`: the entries of `usage` that start with it) where it has one,
 * else all of `usage`: a slip in one subcommand shows its line, not twenty.
 */
export function usageError(usage: string, command?: string): CliError {
  const entries = usage.split(/\n(?= {2}tether )/);
  const own = command === undefined ? [] : entries.filter((entry) => entry.startsWith(`  ${command} `));
  return new CliError(`usage:\n${(own.length > 0 ? own : entries).join("\n")}`, 2);
}

/** The one line a user sees for any failure: the daemon's messages already say how to fix it. */
export function describeError(error: unknown): string {
  if (error instanceof CliError || error instanceof RpcError) return error.message;
  return error instanceof Error ? error.message : String(error);
}
