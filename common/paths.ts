import { accessSync, constants, mkdirSync } from "node:fs";
import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";

/** Where tether keeps its state and where its daemon listens, as the daemon and the CLI both resolve them. */
export interface TetherPaths {
  /** Durable state: the SQLite database, the process output files, the daemon log. */
  readonly stateDir: string;
  /** The Unix socket clients connect to. */
  readonly socketPath: string;
  /** True when the socket's directory is tether's own (default paths), false when TETHER_SOCKET names it. */
  readonly socketDirIsOurs: boolean;
}

/**
 * The paths the design card gives: state under TETHER_HOME, else
 * $XDG_STATE_HOME/tether, else ~/.local/state/tether; the socket at
 * TETHER_SOCKET, else $XDG_RUNTIME_DIR/tether/tether.sock, else under the
 * state dir. TETHER_HOME and TETHER_SOCKET must be absolute: a relative one
 * names another path from every directory (the daemon, started by the CLI,
 * runs in its state dir), so the CLI would start a daemon it then waits for
 * in vain; it is refused, saying so. A relative XDG directory is ignored, as
 * the XDG Base Directory specification asks.
 */
export function resolveTetherPaths(env: NodeJS.ProcessEnv): TetherPaths {
  const stateHome = xdgDir(env.XDG_STATE_HOME);
  const stateDir = absolute(env, "TETHER_HOME") ?? (stateHome !== undefined ? join(stateHome, "tether") : join(homedir(), ".local", "state", "tether"));
  const explicitSocket = absolute(env, "TETHER_SOCKET");
  const runtimeDir = xdgDir(env.XDG_RUNTIME_DIR);
  const socketPath = explicitSocket ?? (runtimeDir !== undefined ? join(runtimeDir, "tether", "tether.sock") : join(stateDir, "run", "tether.sock"));
  return { stateDir, socketPath, socketDirIsOurs: explicitSocket === undefined };
}

/** The variable's path, normalized; undefined when unset or empty; throws when relative. */
function absolute(env: NodeJS.ProcessEnv, name: "TETHER_HOME" | "TETHER_SOCKET"): string | undefined {
  const value = env[name];
  if (value === undefined || value === "") return undefined;
  if (!isAbsolute(value)) {
    throw new Error(`${name} must be an absolute path (it is ${JSON.stringify(value)}): a relative one names another place from every directory; set it to "$PWD/${value}" or another absolute path`);
  }
  return resolve(value);
}

/**
 * Creates the state directory (0700) if missing and checks that this user
 * may write there. One it may not (another user's TETHER_HOME, a read-only
 * place) throws an error that names it and the variable that moves it, not
 * a bare EACCES from the first file opened there.
 */
export function makeStateDir(stateDir: string): void {
  try {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    accessSync(stateDir, constants.W_OK | constants.X_OK);
  } catch (error) {
    throw new Error(`cannot use the state directory ${stateDir}: ${(error as Error).message}; set TETHER_HOME to a directory you can write (tether keeps its database and log there)`);
  }
}

function xdgDir(value: string | undefined): string | undefined {
  return value !== undefined && isAbsolute(value) ? value : undefined;
}
