/**
 * The daemon's log: one line per event on stderr. `tether daemon start`
 * points stderr at daemon.log in the state dir; under systemd it goes to the journal.
 */
export function log(message: string): void {
  process.stderr.write(`${new Date().toISOString()} ${message}\n`);
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
