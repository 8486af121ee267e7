import { setLongTimeout } from "./long-timeout.js";

/**
 * A wait's signal: `signal`'s aborts, and after `timeoutMs` (0: never) an
 * abort with `timedOut()`'s error; `clear` once the wait is over.
 */
export function withTimeout(signal: AbortSignal, timeoutMs: number, timedOut: () => Error): { signal: AbortSignal; clear: () => void } {
  if (timeoutMs === 0) return { signal, clear: () => undefined };
  const controller = new AbortController();
  const timer = setLongTimeout(() => controller.abort(timedOut()), timeoutMs);
  return { signal: AbortSignal.any([signal, controller.signal]), clear: () => clearTimeout(timer) };
}
