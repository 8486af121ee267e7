import { accessSync, constants, statSync } from "node:fs";
import { constants as osConstants } from "node:os";
import { resolve } from "node:path";
import { loadAddon } from "./native-addon.js";

/**
 * The process starter's native half, native/spawn.c, built by node-gyp when
 * tether is installed: posix_spawn (a vfork-like clone, not Node's fork) and
 * a reaper. See spawn.c for what the child gets.
 */
export interface NativeSpawner {
  /** Starts `path` with `argv` and `envp` in `cwd`, each stdio entry a descriptor or -1 for /dev/null; the pid. Throws an Error with `errno`. */
  spawn(path: string, argv: readonly string[], envp: readonly string[], cwd: string, stdio: readonly number[]): number;
  /** Every exited child not yet waited for: pid, exit code (-1 when killed), signal number (0 when exited). */
  reap(): [pid: number, code: number, signal: number][];
}

/** The native spawner, or undefined when it was not built or TETHER_NATIVE_SPAWN=0 (Node's spawn is used then). */
export function loadNativeSpawner(): NativeSpawner | undefined {
  if (process.env["TETHER_NATIVE_SPAWN"] === "0") return undefined;
  return loadAddon<NativeSpawner>("tether_spawn");
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
