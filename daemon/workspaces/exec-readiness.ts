import { Code } from "@connectrpc/connect";
import { formatMs } from "../../common/format.js";
import { TetherError, invalidArgument } from "../errors.js";
import { readinessProblems, waitUntilReady, type ProbeContext } from "../process/readiness.js";
import { watchHealth } from "../process/health-watch.js";
import type { Readiness } from "../tasks/types.js";
import { untilAborted } from "../until-aborted.js";
import { sandboxArgv } from "./sandbox.js";
import type { Launch, ProcessEnvironment } from "./launch.js";
import type { ExecRecord, WorkspaceRecord } from "./types.js";

/**
 * What an exec's readiness checks found: every one passed, or they gave up
 * (readinessError says why); once ready, that they failed HEALTH_FAILURES
 * rounds in a row (unhealthy: readinessError says why) or passed again after.
 */
export type ReadinessOutcome = "ready" | "not_ready" | "unhealthy" | "healthy";

/** Refuses readiness checks that could never pass as given (the task file's rules), naming ExecStart's field. */
export function checkExecReadiness(readiness: Readiness | undefined): void {
  const problem = readiness === undefined ? undefined : readinessProblems(readiness)[0];
  if (problem !== undefined) throw invalidArgument("readiness", `${problem} (tether exec --ready-http URL, --ready-tcp HOST:PORT, --ready-cmd CMD, --ready-interval 1s)`);
}

/**
 * Runs a started exec's readiness checks (exec --ready-http, --ready-tcp,
 * --ready-cmd; ExecStart.readiness) where it runs — its workspace's
 * sandbox and network, its cwd and env — from its start, every interval,
 * as a task's run's are (readiness.ts), until every one passes in one
 * round: `record.readyAt` is set and `settled("ready")`. Not by the
 * timeout: `record.readinessError` says why the last round failed and
 * `settled("not_ready")`, and the exec runs on, as docker marks a container
 * unhealthy and leaves it. Resolves then. Once ready, the checks go on
 * every health interval until the process ends (watchHealth), as
 * docker's healthcheck does; not ready, no more checks.
 */
export async function watchExecReadiness(
  record: ExecRecord,
  probe: ProbeContext,
  ended: Promise<unknown>,
  settled: (outcome: ReadinessOutcome) => void,
): Promise<void> {
  const readiness = record.readiness!;
  const over = new AbortController();
  void ended.then(() => over.abort());
  const notReady = await waitUntilReady(readiness, probe, over.signal);
  if (over.signal.aborted || record.status !== "running") return;
  if (notReady !== undefined) {
    over.abort();
    record.readinessError = `not ready after ${formatMs(readiness.timeoutMs)}${notReady.why === "" ? "" : `: ${notReady.why}`}`;
    settled("not_ready");
    return;
  }
  record.readyAt = Date.now();
  settled("ready");
  void watchHealth(readiness, probe, over.signal, (unhealthy) => {
    if (record.status !== "running" || (record.readinessError === undefined) === (unhealthy === undefined)) return;
    record.readinessError = unhealthy;
    settled(unhealthy === undefined ? "healthy" : "unhealthy");
  });
}

/** Where an exec's probes run: as its command does (launch), in workspace `ws`. */
export function execProbe(ws: WorkspaceRecord, launch: Launch, environment: ProcessEnvironment): ProbeContext {
  return {
    cwd: launch.cwd,
    env: launch.env,
    wrap: (argv) => sandboxArgv(ws, environment.sandboxHost, argv, launch.cwd),
    spawner: environment.spawner,
    ownNetwork: ws.noNetwork,
  };
}

/**
 * Resolves with exec `exec` once it is ready (docker compose up --wait):
 * after `queued` (its start, while it waits in its queue) and `checks` (its
 * live readiness checks) settle, `current()` says. One with no checks,
 * whose checks gave up, or that is not running then is refused
 * (EXEC_NOT_READY, saying which).
 */
export async function untilExecReady(
  exec: ExecRecord,
  waits: { readonly queued: Promise<unknown> | undefined; readonly checks: () => Promise<void> | undefined },
  current: () => ExecRecord,
  signal: AbortSignal,
): Promise<ExecRecord> {
  const notReady = (why: string): TetherError => new TetherError(Code.FailedPrecondition, "EXEC_NOT_READY", `exec ${exec.id} ${why}`, { exec: exec.id });
  if (exec.readiness === undefined) throw notReady("has no readiness checks: start it with --ready-http URL, --ready-tcp HOST:PORT or --ready-cmd CMD to wait for it so (tether exec wait without --ready waits for its end)");
  if (waits.queued !== undefined) await untilAborted(waits.queued, signal);
  const checks = waits.checks();
  if (checks !== undefined) await untilAborted(checks, signal);
  const now = current();
  if (now.readinessError !== undefined) throw notReady(`is ${now.readinessError}; it runs on (tether exec attach ${now.name ?? now.id} shows what it says)`);
  const how = `${now.status}${now.exitCode === undefined ? "" : `, exit code ${now.exitCode}`}`;
  if (now.status !== "running") throw notReady(`${now.readyAt === undefined ? "ended before it was ready" : "was ready but has ended since"} (${how}): tether exec attach ${now.id} --from 0 shows what it said`);
  if (now.readyAt === undefined) throw notReady("is not ready yet");
  return now;
}
