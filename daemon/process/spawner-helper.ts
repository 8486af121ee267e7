/**
 * The daemon's process starter (see spawner.ts): a small Node process, forked
 * once at daemon start, that spawns every run and exec so the daemon itself
 * never forks. It receives each process's stdio sockets (already connected to
 * the daemon) and the spawn request over IPC, spawns, closes its own copies
 * of the sockets, and reports the pid, then the exit. Output never passes
 * through it. It ignores terminal signals (the daemon decides when processes
 * stop) and exits when the daemon goes away.
 */
import { spawn } from "node:child_process";
import type { Socket } from "node:net";
import type { HelperReport, HelperRequest } from "./spawner-protocol.js";

const stdioOf = new Map<number, (Socket | undefined)[]>();

function report(message: HelperReport): void {
  if (process.connected) process.send!(message);
}

process.on("message", (message: HelperRequest, handle: Socket | undefined) => {
  if (message.t === "stdio") {
    const stdio = stdioOf.get(message.id) ?? [];
    stdio[message.fd] = handle;
    stdioOf.set(message.id, stdio);
    return;
  }
  const stdio = stdioOf.get(message.id) ?? [];
  stdioOf.delete(message.id);
  let child;
  try {
    child = spawn(message.file, message.args, {
      cwd: message.cwd,
      env: message.env,
      stdio: [stdio[0] ?? "ignore", stdio[1] ?? "ignore", stdio[2] ?? "ignore"],
      detached: true,
    });
  } catch (error) {
    report({ t: "failed", id: message.id, message: (error as Error).message });
    return;
  } finally {
    // The child has its own copies now; ours would keep its pipes open after it exits.
    for (const socket of stdio) socket?.destroy();
  }
  child.once("spawn", () => report({ t: "spawned", id: message.id, pid: child.pid! }));
  child.once("error", (error) => {
    if (child.pid === undefined) report({ t: "failed", id: message.id, message: error.message });
  });
  child.once("exit", (code, signal) => report({ t: "exited", id: message.id, code, signal }));
});

for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => {});
process.on("disconnect", () => process.exit(0));
