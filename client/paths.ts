import { join } from "node:path";
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
