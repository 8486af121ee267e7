import { join } from "node:path";
import { Code } from "@connectrpc/connect";
import { resolveTetherPaths } from "../common/paths.js";
import { TetherError } from "./errors.js";

/** Where the daemon keeps its state and where it listens, resolved once at startup. */
export interface DaemonConfig {
  /** Durable state: the SQLite database, the process output files, the daemon log. */
  readonly stateDir: string;
  /** The Unix socket clients connect to. */
  readonly socketPath: string;
  /** The socket bound into bwrap sandboxes at socketPath's place: it serves what a sandboxed command may call (services/sandboxed-calls.ts). */
  readonly sandboxSocketPath: string;
  /** True when the socket's directory is tether's own (default paths), false when TETHER_SOCKET names it. */
  readonly socketDirIsOurs: boolean;
  readonly databasePath: string;
  /** The journal's data files: process output's bytes (journal/data-files.ts). */
  readonly outputDir: string;
  readonly logPath: string;
}

/**
 * Resolves the paths the way the design card says (common/paths.ts, which
 * the client resolves them with too), and where the daemon keeps each part
 * of its state there. Throws on a relative TETHER_HOME or TETHER_SOCKET.
 */
export function resolveDaemonConfig(env: NodeJS.ProcessEnv = process.env): DaemonConfig {
  let paths;
  try {
    paths = resolveTetherPaths(env);
  } catch (error) {
    throw new TetherError(Code.InvalidArgument, "INVALID_ARGUMENT", (error as Error).message);
  }
  const { stateDir, socketPath, socketDirIsOurs } = paths;
  return {
    stateDir,
    socketPath,
    sandboxSocketPath: join(stateDir, "sandbox.sock"),
    socketDirIsOurs,
    databasePath: join(stateDir, "tether.db"),
    outputDir: join(stateDir, "output"),
    logPath: join(stateDir, "daemon.log"),
  };
}
