/**
 * The longest delay Node's timers keep (2^31 - 1 ms, ~24.8 days): a longer
 * one fires after 1 ms, with a TimeoutOverflowWarning.
 */
export const TIMER_MAX_MS = 2 ** 31 - 1;

/**
 * setTimeout for a delay of any length, as a user may ask for one: a
 * session's `--ttl 30d`, a task's `timeout: 60d`, a wait's `--timeout 90d`.
 * Node's own fires such a delay at once: a 30-day ttl expired its session
 * 4 ms after it started. Past TIMER_MAX_MS the delay is waited out in
 * equal legs of whole milliseconds (never short of it: a timer's delay is
 * whole ms), the one timer restarted for each (refresh), so what it
 * returns is cleared, unref'd and held as any timer is.
 */
export function setLongTimeout(callback: () => void, delayMs: number): NodeJS.Timeout {
  const legs = Math.max(1, Math.ceil(delayMs / TIMER_MAX_MS));
  let waited = 0;
  const timer = setTimeout(() => {
    waited += 1;
    if (waited < legs) timer.refresh();
    else callback();
  }, Math.ceil(delayMs / legs));
  return timer;
}
