import { setTimeout as sleep } from "node:timers/promises";
import { formatMs } from "../../common/format.js";
import { TIMER_MAX_MS } from "../long-timeout.js";
import type { Readiness } from "../tasks/types.js";
import { HEALTH_FAILURES, checkOnce, type ProbeContext } from "./readiness.js";

/** How an unhealthy service's words start (HEALTH_FAILURES rounds failing in a row). */
export const UNHEALTHY_PREFIX = "unhealthy:";

/**
 * A ready service's checks (an exec's, a session run's) every
 * `readiness.healthIntervalMs` until `over` aborts, as docker's healthcheck
 * goes on once a container is up: HEALTH_FAILURES rounds failing in a row
 * make it unhealthy, and it stays so until a round passes. After every
 * round `verdict(why)` hears the service's health: unhealthy in words (why
 * the round that made it so failed), or undefined while healthy; the caller
 * acts where that differs from what it shows (a run that was waiting for
 * input when it turned shows it once it is ready again). Not called once
 * `over` has aborted.
 */
export async function watchHealth(readiness: Readiness, probe: ProbeContext, over: AbortSignal, verdict: (unhealthy: string | undefined) => void): Promise<void> {
  const intervalMs = readiness.healthIntervalMs ?? 0;
  if (intervalMs <= 0) return;
  let failures = 0;
  let unhealthy: string | undefined;
  for (;;) {
    try {
      await sleep(Math.min(intervalMs, TIMER_MAX_MS), undefined, { signal: over });
    } catch {
      return;
    }
    const why = await checkOnce(readiness, probe, over);
    if (over.aborted) return;
    failures = why === undefined ? 0 : failures + 1;
    if (failures === 0) unhealthy = undefined;
    else if (failures === HEALTH_FAILURES) unhealthy = `${UNHEALTHY_PREFIX} ${why} (${HEALTH_FAILURES} checks in a row, every ${formatMs(intervalMs)})`;
    verdict(unhealthy);
  }
}
