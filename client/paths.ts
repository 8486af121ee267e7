import { existsSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { resolveTetherPaths } from "../common/paths.js";
import { CliError } from "./cli-error.js";

export interface ClientPaths {
  readonly stateDir: string;
  readonly socketPath: string;
  readonly logPath: string;
}

/** The daemon's paths, resolved as the daemon resolves them (common/paths.ts); a relative TETHER_HOME or TETHER_SOCKET is a usage error. */
export function resolvePaths(env: NodeJS.ProcessEnv = process.env): ClientPaths {
  let paths;
  try {
    paths = resolveTetherPaths(env);
  } catch (error) {
    throw new CliError((error as Error).message, 2);
  }
  return { stateDir: paths.stateDir, socketPath: paths.socketPath, logPath: join(paths.stateDir, "daemon.log") };
}

/**
 * The working directory, for what the CLI resolves against it (the task
 * file, a relative path). One removed while the shell was in it is a clear
 * error, not libuv's `ENOENT, uv_cwd`.
 */
export function workingDirectory(): string {
  let cwd: string;
  try {
    cwd = process.cwd();
  } catch {
    throw new CliError("the current directory no longer exists (removed while this shell was in it): cd to another one, or give absolute paths (--file, --path)");
  }
  if (notUtf8(cwd)) {
    throw new CliError(`the current directory's path is not UTF-8 (${cwd}, with U+FFFD for the bytes that are not): tether passes paths as UTF-8 text; cd to a directory whose path is, or give absolute paths (--file, --path)`);
  }
  return cwd;
}

/** `path` made absolute: against the working directory only when relative (so an absolute one works from a removed directory). */
/**
 * A workspace named on the command line: a directory (`.`, `..`, or a path
 * with a `/`, which no workspace name has) as the absolute path the daemon
 * takes it as (the workspace of that directory; a command started there
 * adopts it); else its name, id or id prefix as given.
 */
export function workspaceArg(arg: string): string {
  return arg === "." || arg === ".." || arg.includes("/") ? absolutePath(arg) : arg;
}

export function absolutePath(path: string): string {
  const absolute = isAbsolute(path) ? resolve(path) : resolve(workingDirectory(), path);
  if (notUtf8(absolute)) {
    throw new CliError(`the path ${absolute} is not UTF-8 (U+FFFD stands for the bytes that are not): tether passes paths as UTF-8 text; rename it, or use a path that is`);
  }
  return absolute;
}

/**
 * True when `path` came from bytes that are not UTF-8: Node decodes such
 * bytes (in argv, in the working directory) to U+FFFD, and the path with
 * U+FFFD in their place names nothing. A path with a real U+FFFD exists.
 */
function notUtf8(path: string): boolean {
  return path.includes("\uFFFD") && !existsSync(path);
}
