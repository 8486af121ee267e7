import { constants as osConstants } from "node:os";
import { loadAddon } from "./native-addon.js";
import type { StartedProcess } from "./process-identity.js";
import type { ProcessExit } from "./spawner.js";

/**
 * native/spawn.c, built by node-gyp when tether is installed: posix_spawn
 * (a vfork-like clone, not Node's fork) and a reaper. See spawn.c for what
 * the child gets.
 */
export interface NativeSpawner {
  /**
   * Starts `file` (found in `search`, a PATH) with `argv` and `envp` in `cwd`, each stdio entry a descriptor (taken over and
   * closed) or -1 for /dev/null, on a thread of libuv's pool; the pid and its start time (-1 when unknown). Rejects with an Error with `errno`.
   */
  spawn(file: string, argv: readonly string[], envp: readonly string[], cwd: string, search: string | undefined, stdio: readonly number[]): Promise<[pid: number, startTicks: number]>;
  /** Reaps child `pid` if it has exited: undefined while it runs, else its exit code (-1 when killed) and signal number (0 when it exited). */
  wait(pid: number): [code: number, signal: number] | undefined;
}

const ERRNO_NAMES = new Map(Object.entries(osConstants.errno).map(([name, n]) => [n, name]));
const SIGNAL_NAMES = new Map(Object.entries(osConstants.signals).map(([name, n]) => [n, name as NodeJS.Signals]));

/** The native spawner, or undefined when it was not built or TETHER_NATIVE_SPAWN=0 (Node's spawn is used then). */
export function loadNativeSpawner(): NativeSpawner | undefined {
  if (process.env["TETHER_NATIVE_SPAWN"] === "0") return undefined;
  return loadAddon<NativeSpawner>("tether_spawn");
}

/**
 * Starts `request.file` natively as Node's spawn would (see spawn.c): found
 * in the environment's PATH, a failure thrown in Node's words ("spawn FILE
 * ENOENT"). `stdio` (a descriptor per fd, or -1) is taken over and closed.
 */
export async function spawnNatively(
  native: NativeSpawner,
  request: { readonly file: string; readonly args: readonly string[]; readonly cwd: string },
  env: Readonly<Record<string, string | undefined>>,
  stdio: readonly number[],
): Promise<StartedProcess> {
  const envp: string[] = [];
  for (const key in env) if (env[key] !== undefined) envp.push(`${key}=${env[key]}`);
  try {
    const [pid, startTicks] = await native.spawn(request.file, [request.file, ...request.args], envp, request.cwd, env["PATH"], stdio);
    return { pid, startTicks: startTicks >= 0 ? startTicks : undefined };
  } catch (error) {
    const errno = (error as { errno?: number }).errno;
    throw new Error(`spawn ${request.file} ${errno === undefined ? (error as Error).message : (ERRNO_NAMES.get(errno) ?? `errno ${errno}`)}`);
  }
}

/** How child `pid` exited, reaping it, or undefined while it runs. */
export function exitOf(native: NativeSpawner, pid: number): ProcessExit | undefined {
  const status = native.wait(pid);
  if (status === undefined) return undefined;
  const [code, signal] = status;
  return { code: code >= 0 ? code : null, signal: signal > 0 ? (SIGNAL_NAMES.get(signal) ?? null) : null };
}
