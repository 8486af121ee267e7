import { homedir } from "node:os";
import { join, resolve } from "node:path";

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
 * Resolves paths the way the design card says: state under TETHER_HOME, else
 * $XDG_STATE_HOME/tether, else ~/.local/state/tether; the socket at
 * TETHER_SOCKET, else $XDG_RUNTIME_DIR/tether/tether.sock, else under the state dir.
 * The client resolves the same paths with the same rules (client/paths.ts).
 */
export function resolveDaemonConfig(env: NodeJS.ProcessEnv = process.env): DaemonConfig {
  const stateDir = resolve(
    nonEmpty(env.TETHER_HOME) ??
      (nonEmpty(env.XDG_STATE_HOME) !== undefined
        ? join(env.XDG_STATE_HOME as string, "tether")
        : join(homedir(), ".local", "state", "tether")),
  );
  const explicitSocket = nonEmpty(env.TETHER_SOCKET);
  const runtimeDir = nonEmpty(env.XDG_RUNTIME_DIR);
  const socketPath =
    explicitSocket !== undefined
      ? resolve(explicitSocket)
      : runtimeDir !== undefined
        ? join(runtimeDir, "tether", "tether.sock")
        : join(stateDir, "run", "tether.sock");
  return {
    stateDir,
    socketPath,
    sandboxSocketPath: join(stateDir, "sandbox.sock"),
    socketDirIsOurs: explicitSocket === undefined,
    databasePath: join(stateDir, "tether.db"),
    outputDir: join(stateDir, "output"),
    logPath: join(stateDir, "daemon.log"),
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}
