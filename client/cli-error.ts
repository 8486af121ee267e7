import { meantSubcommand } from "./command-words.js";
import { ErrorReason } from "../gen/tether/v1/errors_pb.js";
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

/**
 * `command SUB` where SUB is none of `subcommands`: says so, with the one
 * meant when it is close to one (`tether ws lss`: did you mean tether ws
 * ls?) or is another tool's word for one (`tether ws list`), then the
 * usage; without SUB, the usage alone.
 */
export function unknownSubcommand(command: string, sub: string | undefined, subcommands: readonly string[], usage: string): CliError {
  if (sub === undefined) return new CliError(usage, 2);
  const meant = meantSubcommand(command, sub, subcommands);
  return new CliError(`no ${command} command ${JSON.stringify(sub)}${meant === undefined ? "" : `: did you mean ${command} ${meant}?`}\n${usage}`, 2);
}

/**
 * The usage error of `command WORD ...` missing what it needs (`tether exec
 * ps`: no command to run), unless WORD is close to one of `subcommands` or
 * another tool's word for one: then which was meant. The usage shown is
 * `usageOf`'s (usageError).
 */
export function usageErrorMeant(usage: string, command: string, word: string | undefined, subcommands: readonly string[], usageOf = command): CliError {
  const meant = word === undefined ? undefined : meantSubcommand(command, word, subcommands);
  return meant === undefined ? usageError(usage, usageOf) : new CliError(`no ${command} command ${JSON.stringify(word)}: did you mean ${command} ${meant}?`, 2);
}

/**
 * `error` as it is, unless it says no workspace has the name given where
 * `command` takes a workspace or a subcommand, and the name is close to one
 * of `subcommands` (`tether exec attch E`): then it says which was meant.
 */
export function subcommandMeant(error: unknown, command: string, subcommands: readonly string[]): unknown {
  if (!(error instanceof RpcError) || error.detail?.reason !== ErrorReason.WORKSPACE_NOT_FOUND) return error;
  const meant = meantSubcommand(command, error.detail.metadata["workspace"] ?? "", subcommands);
  return meant === undefined ? error : new CliError(`${error.message}; or did you mean ${command} ${meant}?`);
}

/**
 * `error` as it is, unless it says the daemon stopped under the command:
 * then what became of what the command followed (`what`, "" when it had not
 * been told yet), not the daemon's "run the command again", which would
 * start another.
 */
export function whenDaemonStopped(error: unknown, what: string): unknown {
  if (what === "" || !(error instanceof RpcError) || error.detail?.reason !== ErrorReason.DAEMON_SHUTTING_DOWN) return error;
  return new CliError(`the daemon was stopped while ${what}`);
}

/** The exit code of a wait that timed out, as timeout(1) uses. */
const TIMED_OUT_EXIT_CODE = 124;

/** `error` as it is, unless a wait gave up after its --timeout (WAIT_TIMED_OUT): then its message, exiting 124. */
export function whenTimedOut(error: unknown): unknown {
  if (!(error instanceof RpcError) || error.detail?.reason !== ErrorReason.WAIT_TIMED_OUT) return error;
  return new CliError(error.message, TIMED_OUT_EXIT_CODE);
}
