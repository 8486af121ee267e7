import { durationFromMs } from "@bufbuild/protobuf/wkt";
import type { ExecReadiness } from "../../gen/tether/v1/exec_pb.js";
import { HEALTH_DEFAULT_INTERVAL_MS, READINESS_DEFAULT_INTERVAL_MS, READINESS_DEFAULT_TIMEOUT_MS } from "../process/readiness.js";
import type { Readiness } from "../tasks/types.js";
import { durationFieldMs } from "./durations.js";

// Readiness checks in proto form: a task's (TaskReadiness) and an exec's (ExecReadiness) have the same fields.

/** Checks as a TaskReadiness or an ExecReadiness holds them ("" for a check not given; a health interval of 0 when there is none). */
export function readinessToProto(readiness: Readiness): {
  http: string;
  tcp: string;
  cmd: string;
  interval: ReturnType<typeof durationFromMs>;
  timeout: ReturnType<typeof durationFromMs>;
  healthInterval: ReturnType<typeof durationFromMs>;
} {
  return {
    http: readiness.http ?? "",
    tcp: readiness.tcp ?? "",
    cmd: readiness.cmd ?? "",
    interval: durationFromMs(readiness.intervalMs),
    timeout: durationFromMs(readiness.timeoutMs),
    healthInterval: durationFromMs(readiness.healthIntervalMs ?? 0),
  };
}

/** An ExecStart's checks (undefined: none), with the task file's defaults for an interval and a timeout not given. */
export function readinessFromProto(readiness: ExecReadiness | undefined): Readiness | undefined {
  if (readiness === undefined) return undefined;
  return {
    http: readiness.http === "" ? undefined : readiness.http,
    tcp: readiness.tcp === "" ? undefined : readiness.tcp,
    cmd: readiness.cmd === "" ? undefined : readiness.cmd,
    intervalMs: durationFieldMs(readiness.interval, "readiness.interval", READINESS_DEFAULT_INTERVAL_MS),
    timeoutMs: durationFieldMs(readiness.timeout, "readiness.timeout", READINESS_DEFAULT_TIMEOUT_MS),
    healthIntervalMs: durationFieldMs(readiness.healthInterval, "readiness.health_interval", HEALTH_DEFAULT_INTERVAL_MS),
  };
}
