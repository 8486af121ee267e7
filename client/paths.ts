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
  try {
    return process.cwd();
  } catch {
    throw new CliError("the current directory no longer exists (removed while this shell was in it): cd to another one, or give absolute paths (--file, --path)");
  }
}

/** `path` made absolute: against the working directory only when relative (so an absolute one works from a removed directory). */
export function absolutePath(path: string): string {
  return isAbsolute(path) ? resolve(path) : resolve(workingDirectory(), path);
}
