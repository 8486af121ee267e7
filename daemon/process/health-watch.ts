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
 * make it unhealthy, `changed(why)` (why the last round failed, in words);
 * a round passing after makes it healthy again, `changed(undefined)`. Only
 * changes are told. `changed` is not called once `over` has aborted.
 */
export async function watchHealth(readiness: Readiness, probe: ProbeContext, over: AbortSignal, changed: (unhealthy: string | undefined) => void): Promise<void> {
  const intervalMs = readiness.healthIntervalMs ?? 0;
  if (intervalMs <= 0) return;
  let failures = 0;
  for (;;) {
    try {
      await sleep(Math.min(intervalMs, TIMER_MAX_MS), undefined, { signal: over });
    } catch {
      return;
    }
    const why = await checkOnce(readiness, probe, over);
    if (over.aborted) return;
    if (why === undefined) {
      if (failures >= HEALTH_FAILURES) changed(undefined);
      failures = 0;
    } else if (++failures === HEALTH_FAILURES) {
      changed(`${UNHEALTHY_PREFIX} ${why} (${HEALTH_FAILURES} checks in a row, every ${formatMs(intervalMs)})`);
    }
  }
}
