import type { ParseArgsConfig } from "node:util";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { durationMs, timestampMs } from "@bufbuild/protobuf/wkt";
import { ExecStatus, type Exec, type ExecReadinessSchema } from "../gen/tether/v1/exec_pb.js";
import { formatMs } from "../common/format.js";
import { CliError } from "./cli-error.js";
import { parseDurationFlag } from "./flags.js";

// An exec's readiness checks on the command line (exec --ready-http ...), and in its listings.

/** `tether exec`'s readiness flags, as a task's `readiness:` keys. */
export const READINESS_FLAGS = {
  "ready-http": { type: "string" },
  "ready-tcp": { type: "string" },
  "ready-cmd": { type: "string" },
  "ready-interval": { type: "string" },
  "ready-timeout": { type: "string" },
  "health-interval": { type: "string" },
} satisfies NonNullable<ParseArgsConfig["options"]>;

type ReadinessValues = { readonly [K in keyof typeof READINESS_FLAGS]?: string | undefined };

/** ExecStart.readiness from the flags; undefined when none is given. The daemon checks the URL and host:port. */
export function readinessFromFlags(values: ReadinessValues): MessageInitShape<typeof ExecReadinessSchema> | undefined {
  const { "ready-http": http, "ready-tcp": tcp, "ready-cmd": cmd, "ready-interval": interval, "ready-timeout": timeout, "health-interval": health } = values;
  if (http === undefined && tcp === undefined && cmd === undefined) {
    const alone = interval !== undefined ? "--ready-interval" : timeout !== undefined ? "--ready-timeout" : health !== undefined ? "--health-interval" : undefined;
    if (alone !== undefined) throw new CliError(`${alone} goes with a check to make: --ready-http URL, --ready-tcp HOST:PORT or --ready-cmd CMD`, 2);
    return undefined;
  }
  return {
    http: http ?? "",
    tcp: tcp ?? "",
    cmd: cmd ?? "",
    interval: interval === undefined ? undefined : parseDurationFlag("--ready-interval", interval),
    timeout: timeout === undefined ? undefined : parseDurationFlag("--ready-timeout", timeout),
    healthInterval: health === undefined ? undefined : parseDurationFlag("--health-interval", health),
  };
}

/** A running exec's readiness, as docker ps shows health: "ready", "starting", "not ready", "unhealthy" (ready once, failing since); "" without checks or once it has ended. */
export function readyWord(e: Exec): string {
  if (e.readiness === undefined || e.status !== ExecStatus.RUNNING) return "";
  if (e.readyTime !== undefined) return e.readinessError !== "" ? "unhealthy" : "ready";
  return e.readinessError !== "" ? "not ready" : "starting";
}

/** After a running exec's status in a listing: " (ready)", " (starting)", " (not ready)"; "" without checks. */
export function readyMark(e: Exec): string {
  const word = readyWord(e);
  return word === "" ? "" : ` (${word})`;
}

/** `exec show`'s line: the checks, and when they passed or why they gave up; none without checks. */
export function readinessLines(e: Exec): string[] {
  const r = e.readiness;
  if (r === undefined) return [];
  const checks = [r.http, r.tcp === "" ? "" : `tcp ${r.tcp}`, r.cmd === "" ? "" : `cmd ${r.cmd}`].filter((c) => c !== "").join(", ");
  const healthMs = r.healthInterval === undefined ? 0 : durationMs(r.healthInterval);
  const every = `every ${formatMs(r.interval === undefined ? 0 : durationMs(r.interval))}, for up to ${formatMs(r.timeout === undefined ? 0 : durationMs(r.timeout))}${healthMs > 0 ? `; once ready, every ${formatMs(healthMs)}` : ""}`;
  const start = e.startTime ?? e.createTime;
  const state =
    e.readyTime !== undefined
      ? `ready ${start === undefined ? "" : `${formatMs(timestampMs(e.readyTime) - timestampMs(start))} after its start`}${e.readinessError !== "" ? `; ${e.readinessError}` : ""}`
      : e.readinessError !== ""
        ? e.readinessError
        : e.status === ExecStatus.RUNNING || e.status === ExecStatus.QUEUED
          ? "not yet"
          : "never ready";
  return [`readiness   ${checks} (${every}): ${state.trimEnd()}`];
}

/** The readiness fields of `exec ... --json`. */
export function readinessJson(e: Exec): Record<string, unknown> {
  const r = e.readiness;
  return {
    readiness: r === undefined ? null : { http: r.http || null, tcp: r.tcp || null, cmd: r.cmd || null, interval_ms: r.interval === undefined ? null : durationMs(r.interval), timeout_ms: r.timeout === undefined ? null : durationMs(r.timeout), health_interval_ms: r.healthInterval === undefined ? null : durationMs(r.healthInterval) },
    ready_at: e.readyTime === undefined ? null : new Date(timestampMs(e.readyTime)).toISOString(),
    readiness_error: e.readinessError || null,
  };
}
