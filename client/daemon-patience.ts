import { closeSync, fstatSync, openSync, readFileSync, readSync } from "node:fs";
import type { ClientPaths } from "./paths.js";

/**
 * How long a command waits for the daemon's first answer before it says it
 * is waiting: a daemon stopped (SIGSTOP, a debugger) still has its socket
 * accept connections, and answers nothing.
 */
export const DAEMON_PATIENCE_MS = 5_000;
/** The end of the daemon's log read for its "serving" line. */
const LOG_TAIL_BYTES = 64 * 1024;

/**
 * `answer`, and if it has not come within DAEMON_PATIENCE_MS, one line on
 * stderr saying what the daemon is doing, as far as this machine tells:
 * stopped (with the command that lets it go on) or busy. The wait goes on.
 */
export async function patiently<T>(answer: Promise<T>, paths: ClientPaths): Promise<T> {
  const timer = setTimeout(() => process.stderr.write(`tether: ${waitingFor(paths)}; still waiting (Ctrl-C gives up)\n`), DAEMON_PATIENCE_MS);
  try {
    return await answer;
  } finally {
    clearTimeout(timer);
  }
}

function waitingFor(paths: ClientPaths): string {
  const silent = `the daemon on ${paths.socketPath} has not answered in ${DAEMON_PATIENCE_MS / 1000}s`;
  const pid = servingPid(paths);
  if (pid === undefined) return `${silent}: it may be stopped (SIGSTOP, a debugger) or very busy`;
  const state = processState(pid);
  if (state === "T" || state === "t") return `${silent}: its process (pid ${pid}) is stopped; kill -CONT ${pid} lets it go on`;
  return `${silent}: its process (pid ${pid}) is busy, or stuck (state ${state ?? "unknown"})`;
}

/** The pid of the daemon serving this socket, from the last line of its log that says so. */
function servingPid(paths: ClientPaths): number | undefined {
  let text: string;
  try {
    const fd = openSync(paths.logPath, "r");
    try {
      const size = fstatSync(fd).size;
      const tail = Buffer.alloc(Math.min(size, LOG_TAIL_BYTES));
      readSync(fd, tail, 0, tail.length, size - tail.length);
      text = tail.toString("utf8");
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
  let pid: number | undefined;
  for (const match of text.matchAll(/\(pid (\d+)\) serving (\S+)/g)) if (match[2] === paths.socketPath) pid = Number(match[1]);
  return pid;
}

/** A process's state letter from /proc (R running, S sleeping, T stopped ...), or undefined when it is gone. */
function processState(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/stat`, "latin1").split(") ").at(-1)![0];
  } catch {
    return undefined;
  }
}
