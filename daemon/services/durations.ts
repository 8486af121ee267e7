import { durationMs, type Duration } from "@bufbuild/protobuf/wkt";
import { invalidArgument } from "../errors.js";
import { KILL_GRACE_MS } from "../process/signals.js";

/**
 * A request's Duration field in milliseconds, `unset` when it is not set;
 * a negative one is refused naming the field (a ttl of -5s is no ttl the
 * caller could have meant, and was taken as none).
 */
export function durationFieldMs(duration: Duration | undefined, field: string, unset: number): number {
  if (duration === undefined) return unset;
  const ms = durationMs(duration);
  if (ms < 0) throw invalidArgument(field, `${field} must not be negative`);
  return ms;
}

/** A stop's grace (ws stop, exec stop, exec restart: SIGTERM to SIGKILL): KILL_GRACE_MS when unset. */
export function stopGraceMs(grace: Duration | undefined): number {
  return durationFieldMs(grace, "grace", KILL_GRACE_MS);
}
