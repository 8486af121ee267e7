import { homedir } from "node:os";
import { join, resolve } from "node:path";

export interface ClientPaths {
  readonly stateDir: string;
  readonly socketPath: string;
  readonly logPath: string;
}

/**
 * The same resolution the daemon uses (TETHER_HOME / XDG_STATE_HOME,
 * TETHER_SOCKET / XDG_RUNTIME_DIR), restated here because the client shares
 * only the generated contract with the daemon, never its modules.
 */
export function resolvePaths(env: NodeJS.ProcessEnv = process.env): ClientPaths {
  const set = (v: string | undefined): string | undefined => (v === undefined || v === "" ? undefined : v);
  const stateHome = set(env.XDG_STATE_HOME);
  const stateDir = resolve(set(env.TETHER_HOME) ?? (stateHome !== undefined ? join(stateHome, "tether") : join(homedir(), ".local", "state", "tether")));
  const explicit = set(env.TETHER_SOCKET);
  const runtimeDir = set(env.XDG_RUNTIME_DIR);
  const socketPath =
    explicit !== undefined ? resolve(explicit) : runtimeDir !== undefined ? join(runtimeDir, "tether", "tether.sock") : join(stateDir, "run", "tether.sock");
  return { stateDir, socketPath, logPath: join(stateDir, "daemon.log") };
}
