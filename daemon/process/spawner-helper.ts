/**
 * The daemon's process starter where it cannot spawn natively (see
 * helper-spawner.ts): a small Node process, forked once at daemon start,
 * that starts every run and exec with Node's spawn, which forks this small
 * process instead of the daemon. For each spawn request it connects the
 * process's stdio to the daemon's stdio listener (its path is this
 * process's one argument), names each connection with an "ID:FD" line,
 * spawns with those sockets as stdio, closes its own copies, and reports
 * the pid (with its start time), then the exit. Output never passes through
 * it. It ignores terminal signals (the daemon decides when processes stop)
 * and exits when the daemon goes away.
 */
import { spawn } from "node:child_process";
import { connect, type Socket } from "node:net";
import { processStartTicks } from "./process-identity.js";
import { applyEnvChanges, type HelperReport, type HelperRequest } from "./spawner-protocol.js";

const listenerPath = process.argv[2]!;
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
    startWithNode(message, env, stdio);
  } finally {
    // The child has its own copies now; ours would keep its pipes open after it exits.
    for (const socket of stdio) socket?.destroy();
  }
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

process.on("message", (message: HelperRequest) => {
  // In the order the requests came, before any awaits: each one's changes are to the one before.
  applyEnvChanges(env, message.env);
  void start(message, { ...env });
});

for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => {});
process.on("disconnect", () => process.exit(0));
