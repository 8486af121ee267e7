import { constants as osConstants } from "node:os";
import { loadAddon } from "./native-addon.js";
import type { StartedProcess } from "./process-identity.js";
import { noProcessLeft } from "./process-limit.js";
import type { ProcessExit, SpawnRequest } from "./spawner.js";

/**
 * native/spawn.c, built by node-gyp when tether is installed: posix_spawn
 * (a vfork-like clone, not Node's fork) and a reaper. See spawn.c for what
 * the child gets.
 */
export interface NativeSpawner {
  /**
   * Starts `file` (found in `search`, a PATH) with `argv` and `environment` ("NAME=value" strings joined by NUL) in `cwd`, each stdio entry a descriptor (taken over and
   * closed) or -1 for /dev/null, on a thread of libuv's pool; the pid and its start time (-1 when unknown). Rejects with an Error with `errno`.
   */
  spawn(file: string, argv: readonly string[], environment: string, cwd: string, search: string | undefined, stdio: readonly number[]): Promise<[pid: number, startTicks: number]>;
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
 * A process's environment as spawn() takes it: "NAME=value" strings joined
 * by NUL. Throws, as Node's spawn does, when an argument or a variable holds
 * a NUL byte (a C string ends at its first).
 */
export function nativeEnvironment(request: SpawnRequest): string {
  const nul = (text: string) => text.includes("\0");
  if (nul(request.file) || request.args.some(nul)) throw new Error(`spawn ${request.file}: an argument holds a NUL byte`);
  for (const arg of request.args) {
    const bytes = bytesOverLimit(arg);
    if (bytes !== undefined) throw new Error(`spawn ${request.file}: an argument is ${bytes} bytes, ${TOO_LONG}`);
  }
  const entries: string[] = [];
  for (const key in request.env) {
    const value = request.env[key];
    if (value === undefined) continue;
    const entry = `${key}=${value}`;
    if (nul(entry)) throw new Error(`spawn ${request.file}: the environment variable ${JSON.stringify(key)} holds a NUL byte`);
    const bytes = bytesOverLimit(entry);
    if (bytes !== undefined) throw new Error(`spawn ${request.file}: the environment variable ${JSON.stringify(key)} is ${bytes} bytes with its name, ${TOO_LONG}`);
    entries.push(entry);
  }
  return entries.join("\0");
}

/**
 * The longest string Linux passes to a new program as one argument or one
 * environment variable (MAX_ARG_STRLEN, 32 pages, its NUL included): a
 * longer one fails the start with E2BIG, which said nothing of which.
 */
const ARG_STRING_MAX_BYTES = 32 * 4096 - 1;
/**
 * A string's UTF-8 size when it is past ARG_STRING_MAX_BYTES, else
 * undefined. Counted only where it could be (a UTF-16 unit is 3 bytes at
 * most): a spawn asks it of each of its ~50 variables.
 */
function bytesOverLimit(text: string): number | undefined {
  if (text.length * 3 <= ARG_STRING_MAX_BYTES) return undefined;
  const bytes = Buffer.byteLength(text);
  return bytes > ARG_STRING_MAX_BYTES ? bytes : undefined;
}
const TOO_LONG = "over the 128 KiB Linux passes to a program in one (MAX_ARG_STRLEN): pass large data in a file, on stdin or on a stream";

/**
 * Starts `request.file` natively as Node's spawn would (see spawn.c): found
 * in the environment's PATH, a failure thrown in Node's words ("spawn FILE
 * ENOENT"). `stdio` (a descriptor per fd, or -1) is taken over and closed.
 */
export async function spawnNatively(native: NativeSpawner, request: SpawnRequest, environment: string, stdio: readonly number[]): Promise<StartedProcess> {
  try {
    const [pid, startTicks] = await native.spawn(request.file, [request.file, ...request.args], environment, request.cwd, request.env["PATH"], stdio);
    return { pid, startTicks: startTicks >= 0 ? startTicks : undefined };
  } catch (error) {
    const errno = (error as { errno?: number }).errno;
    const name = errno === undefined ? undefined : ERRNO_NAMES.get(errno);
    const why =
      name === "E2BIG"
        ? "E2BIG: the arguments and environment together are over what Linux passes to a program (ARG_MAX, a quarter of the stack limit): pass large data in a file, on stdin or on a stream"
        : errno === osConstants.errno.EAGAIN
          ? `EAGAIN: ${noProcessLeft()}`
          : name;
    throw new Error(`spawn ${request.file} ${errno === undefined ? (error as Error).message : (why ?? `errno ${errno}`)}`);
  }
}

/** How child `pid` exited, reaping it, or undefined while it runs. */
export function exitOf(native: NativeSpawner, pid: number): ProcessExit | undefined {
  const status = native.wait(pid);
  if (status === undefined) return undefined;
  const [code, signal] = status;
  return { code: code >= 0 ? code : null, signal: signal > 0 ? (SIGNAL_NAMES.get(signal) ?? null) : null };
}
