import { accessSync, constants, statSync } from "node:fs";
import { constants as osConstants } from "node:os";
import { resolve } from "node:path";
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
   * Starts `path` with `argv` and `envp` in `cwd`, each stdio entry a descriptor (kept open until this settles) or -1 for /dev/null,
   * on a thread of libuv's pool; the pid and its start time (-1 when unknown). Rejects with an Error with `errno`.
   */
  spawn(path: string, argv: readonly string[], envp: readonly string[], cwd: string, stdio: readonly number[]): Promise<[pid: number, startTicks: number]>;
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
 * Starts `file` natively as Node's spawn would: found in the environment's
 * PATH, an executable without a #! line run by /bin/sh (as execvp runs it),
 * a failure thrown in Node's words ("spawn FILE ENOENT").
 */
export async function spawnNatively(
  native: NativeSpawner,
  request: { readonly file: string; readonly args: readonly string[]; readonly cwd: string },
  env: Readonly<Record<string, string | undefined>>,
  stdio: readonly number[],
): Promise<StartedProcess> {
  try {
    const path = findProgram(request.file, env["PATH"], request.cwd);
    const envp: string[] = [];
    for (const key in env) if (env[key] !== undefined) envp.push(`${key}=${env[key]}`);
    let started: [number, number];
    try {
      started = await native.spawn(path, [request.file, ...request.args], envp, request.cwd, stdio);
    } catch (error) {
      if ((error as { errno?: number }).errno !== osConstants.errno.ENOEXEC) throw error;
      started = await native.spawn("/bin/sh", ["/bin/sh", path, ...request.args], envp, request.cwd, stdio);
    }
    return { pid: started[0], startTicks: started[1] >= 0 ? started[1] : undefined };
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

/**
 * The file `file` runs as, found as Node's spawn finds it: a name with a
 * slash as it is (relative to the process's cwd), else the first executable
 * file of that name in the process's own PATH. Throws ENOENT when none is.
 */
export function findProgram(file: string, path: string | undefined, cwd: string): string {
  if (file.includes("/")) return file;
  for (const dir of (path ?? "/usr/bin:/bin").split(":")) {
    const candidate = resolve(cwd, dir, file);
    if (statSync(candidate, { throwIfNoEntry: false })?.isFile() !== true) continue;
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not executable: keep looking, as execvp does.
    }
  }
  throw Object.assign(new Error(`${file} not found in PATH`), { errno: osConstants.errno.ENOENT });
}
