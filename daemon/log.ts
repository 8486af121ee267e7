import { writeSync } from "node:fs";

/** Where log lines go: fd 2, written at once (an object, so a unit test can see the lines). */
export const logOutput = {
  write(text: string): void {
    writeSync(2, text);
  },
};

/** Lines that could not be written since the last that was, and why. */
let unwritten = { lines: 0, why: "" };

/**
 * The daemon's log: one line per event on stderr. `tether daemon start`
 * points stderr at daemon.log in the state dir; under systemd it goes to the journal.
 *
 * Written with writeSync on fd 2, as Node writes stderr on Linux anyway
 * (synchronously, to a file, a pipe or a terminal), so a line that cannot
 * be written (the disk holding daemon.log is full) is counted, and said
 * with the next line that can be, instead of an 'error' on process.stderr
 * that nothing handles: the daemon died of its first log line on a full
 * disk, and its live work with it.
 */
export function log(message: string): void {
  const now = new Date().toISOString();
  try {
    if (unwritten.lines > 0) {
      logOutput.write(`${now} ${unwritten.lines} log line(s) before this one could not be written (${unwritten.why})\n`);
      unwritten = { lines: 0, why: "" };
    }
    logOutput.write(`${now} ${message}\n`);
  } catch (error) {
    unwritten = { lines: unwritten.lines + 1, why: (error as Error).message };
  }
}

/**
 * What Node itself writes to stdout or stderr (a process warning) must not
 * end the daemon either when it cannot be written: an 'error' on those
 * streams with no listener is thrown.
 */
export function survivingUnwritableOutput(): void {
  for (const stream of [process.stdout, process.stderr]) stream.on("error", () => undefined);
}

/**
 * Lines of one kind that clients can cause (calls reset, connections
 * refused, failed calls) logged per LOG_KIND_WINDOW_MS; the rest of the
 * window's are counted and the count logged with the next line of the kind.
 * A client looping on a refusal would otherwise grow daemon.log by ~100
 * bytes a try, thousands a second, until the disk that also holds
 * everyone's output was full.
 */
export const LOG_KIND_LINES = 20;
export const LOG_KIND_WINDOW_MS = 60_000;

const kinds = new Map<string, { windowStart: number; lines: number; suppressed: number }>();

/** Logs `message` unless LOG_KIND_LINES of `kind` were logged in this window already. */
export function logLimited(kind: string, message: string): void {
  const now = Date.now();
  let state = kinds.get(kind);
  if (state === undefined || now - state.windowStart >= LOG_KIND_WINDOW_MS) {
    if (state !== undefined && state.suppressed > 0) log(`${state.suppressed} more line(s) of "${kind}" not logged in the ${LOG_KIND_WINDOW_MS / 1000}s before`);
    state = { windowStart: now, lines: 0, suppressed: 0 };
    kinds.set(kind, state);
  }
  if (state.lines >= LOG_KIND_LINES) {
    state.suppressed += 1;
    return;
  }
  state.lines += 1;
  log(state.lines === LOG_KIND_LINES ? `${message} (the last "${kind}" line logged for ${LOG_KIND_WINDOW_MS / 1000}s; the rest are counted)` : message);
}
