import { invalidArgument } from "./errors.js";

/** How far ahead work may be set to start (exec --delay, --at; run --delay, --at): a year. */
const START_AT_MAX_MS = 366 * 24 * 3600 * 1000;

/**
 * The time `what` (an exec, a session) is to start no sooner than, if it is
 * still to come (one passed already: undefined, it starts now); refused past
 * START_AT_MAX_MS from now.
 */
export function checkStartAt(startAt: number | undefined, what: string, now = Date.now()): number | undefined {
  if (startAt === undefined || startAt <= now) return undefined;
  if (startAt - now > START_AT_MAX_MS) throw invalidArgument("start_at", `${what} starts at most a year from now, not at ${new Date(startAt).toISOString()}: tether is no calendar (a timer of the system's, such as a systemd timer or cron, starts work that far ahead)`);
  return startAt;
}

/** How often a wait for a time of the clock looks at the clock again: it is met within this of a suspend's end or a clock set forward. */
const CLOCK_CHECK_MS = 60_000;

/**
 * Calls `then` once the wall clock reads `at` or later (at once when it
 * does), unless `signal` aborts first. Timers count the monotonic clock,
 * which stands still while the machine sleeps: the clock is read again at
 * least every CLOCK_CHECK_MS, so a time passed during a suspend is met soon
 * after it ends, not as late as the suspend was long.
 */
export function untilClock(at: number, signal: AbortSignal, then: () => void): void {
  let timer: NodeJS.Timeout | undefined;
  const check = (): void => {
    const left = at - Date.now();
    if (left <= 0) {
      signal.removeEventListener("abort", stop);
      then();
    } else {
      timer = setTimeout(check, Math.min(left, CLOCK_CHECK_MS));
    }
  };
  const stop = (): void => clearTimeout(timer);
  signal.addEventListener("abort", stop, { once: true });
  check();
}
