/**
 * The daemon's process starter (see spawner.ts): a small Node process, forked
 * once at daemon start, that spawns every run and exec so the daemon itself
 * never forks. For each spawn request it connects the process's stdio to the
 * daemon's stdio listener (its path is this process's one argument), names
 * each connection with an "ID:FD" line, spawns with those sockets as stdio,
 * closes its own copies, and reports the pid (with its start time), then the exit. Output never
 * passes through it. It ignores terminal signals (the daemon decides when
 * processes stop) and exits when the daemon goes away.
 *
 * It spawns with posix_spawn (native/spawn.c, built at install) and reaps on
 * SIGCHLD. Node's spawn forks this process: from a request to the reported
 * exit of `true` took 4.0 ms (p50) in a task graph here, posix_spawn 1.7 ms.
 * Without the native spawner (not built, or TETHER_NATIVE_SPAWN=0) it uses
 * Node's spawn.
 */
import { spawn } from "node:child_process";
import { connect, type Socket } from "node:net";
import { constants as osConstants } from "node:os";
import { descriptorOf } from "./native-descriptors.js";
import { findProgram, loadNativeSpawner, type NativeSpawner } from "./native-spawner.js";
import { processStartTicks } from "./process-identity.js";
import { applyEnvChanges, type HelperReport, type HelperRequest } from "./spawner-protocol.js";

const listenerPath = process.argv[2]!;
const native = loadNativeSpawner();
/** Processes started natively and not yet reaped: pid to request id. */
const running = new Map<number, number>();
const ERRNO_NAMES = new Map(Object.entries(osConstants.errno).map(([name, n]) => [n, name]));
const SIGNAL_NAMES = new Map(Object.entries(osConstants.signals).map(([name, n]) => [n, name as NodeJS.Signals]));
/** The last request's environment, which the next one's changes apply to. */
const env: Record<string, string> = Object.create(null);

function report(message: HelperReport): void {
  if (process.connected) process.send!(message);
}

/** A socket to the daemon, named as process `id`'s fd once the name is written. */
function connectStdio(id: number, fd: 0 | 1 | 2): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(listenerPath);
    socket.once("error", reject);
    socket.once("connect", () => socket.write(`${id}:${fd}\n`, (error) => (error ? reject(error) : resolve(socket))));
  });
}

async function start(message: HelperRequest, env: Record<string, string>): Promise<void> {
  const connected = await Promise.allSettled([message.stdin ? connectStdio(message.id, 0) : undefined, connectStdio(message.id, 1), connectStdio(message.id, 2)]);
  const failure = connected.find((c): c is PromiseRejectedResult => c.status === "rejected");
  const stdio = connected.map((c) => (c.status === "fulfilled" ? c.value : undefined));
  if (failure !== undefined) {
    for (const socket of stdio) socket?.destroy();
    report({ t: "failed", id: message.id, message: `cannot connect its output to the daemon: ${(failure.reason as Error).message}` });
    return;
  }
  try {
    if (native !== undefined) startNative(native, message, env, stdio);
    else startWithNode(message, env, stdio);
  } finally {
    // The child has its own copies now; ours would keep its pipes open after it exits.
    for (const socket of stdio) socket?.destroy();
  }
}

/** Starts the process with posix_spawn (native/spawn.c); its exit is reaped on SIGCHLD. */
function startNative(spawner: NativeSpawner, message: HelperRequest, env: Record<string, string>, stdio: (Socket | undefined)[]): void {
  let pid: number;
  try {
    const fds = stdio.map((socket) => (socket === undefined ? -1 : descriptorOf(socket)));
    const path = findProgram(message.file, env["PATH"], message.cwd);
    const envp = Object.keys(env).map((key) => `${key}=${env[key]}`);
    try {
      pid = spawner.spawn(path, [message.file, ...message.args], envp, message.cwd, fds);
    } catch (error) {
      if ((error as { errno?: number }).errno !== osConstants.errno.ENOEXEC) throw error;
      // An executable without a #! line: run by /bin/sh, as execvp (and so Node's spawn) does.
      pid = spawner.spawn("/bin/sh", ["/bin/sh", path, ...message.args], envp, message.cwd, fds);
    }
  } catch (error) {
    // Worded as Node's spawn words it: "spawn FILE ENOENT".
    const errno = (error as { errno?: number }).errno;
    report({ t: "failed", id: message.id, message: `spawn ${message.file} ${errno === undefined ? (error as Error).message : (ERRNO_NAMES.get(errno) ?? `errno ${errno}`)}` });
    return;
  }
  running.set(pid, message.id);
  report({ t: "spawned", id: message.id, pid, startTicks: processStartTicks(pid) });
}

function startWithNode(message: HelperRequest, env: Record<string, string>, stdio: (Socket | undefined)[]): void {
  let child;
  try {
    child = spawn(message.file, message.args, {
      cwd: message.cwd,
      env,
      stdio: [stdio[0] ?? "ignore", stdio[1]!, stdio[2]!],
      detached: true,
    });
  } catch (error) {
    report({ t: "failed", id: message.id, message: (error as Error).message });
    return;
  }
  // Its start time read here, not in the daemon (a /proc open costs ~0.1 ms of the daemon's loop per process).
  child.once("spawn", () => report({ t: "spawned", id: message.id, pid: child.pid!, startTicks: processStartTicks(child.pid!) }));
  child.once("error", (error) => {
    if (child.pid === undefined) report({ t: "failed", id: message.id, message: error.message });
  });
  child.once("exit", (code, signal) => report({ t: "exited", id: message.id, code, signal }));
}

/** Reports every process started natively that has exited. */
function reapExited(spawner: NativeSpawner): void {
  for (const [pid, code, signal] of spawner.reap()) {
    const id = running.get(pid);
    if (id === undefined) continue;
    running.delete(pid);
    report({ t: "exited", id, code: code >= 0 ? code : null, signal: signal > 0 ? (SIGNAL_NAMES.get(signal) ?? null) : null });
  }
}

process.on("message", (message: HelperRequest) => {
  // In the order the requests came, before any awaits: each one's changes are to the one before.
  applyEnvChanges(env, message.env);
  void start(message, { ...env });
});

for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => {});
if (native !== undefined) process.on("SIGCHLD", () => reapExited(native));
process.on("disconnect", () => process.exit(0));
