import { Code } from "@connectrpc/connect";
import { TetherError } from "../errors.js";
import type { ProcessEnd } from "../process/child-process.js";
import { processStopped } from "../process/process-identity.js";
import type { OutputWriter } from "../process/output-writer.js";
import type { RestartSpec } from "./exec-tables.js";
import { recordEnd } from "./launch.js";
import type { ExecStartOptions } from "./execs.js";
import type { ExecRecord, WorkspaceRecord } from "./types.js";

/** A new exec's record, as it starts (running) or waits in its queue (queued): in workspace `ws`, its cwd resolved there. */
export function newExecRecord(seq: number, options: ExecStartOptions, ws: WorkspaceRecord, id: string, cwd: string, status: "running" | "queued"): ExecRecord {
  return {
    seq,
    id,
    workspaceSeq: ws.seq,
    workspaceId: ws.id,
    argv: [...options.argv],
    cwd,
    envKeys: Object.keys(options.env).sort(),
    tty: options.tty !== undefined,
    name: options.name === "" ? undefined : options.name,
    restartPolicy: options.restartPolicy,
    restarts: options.restarts ?? 0,
    timeoutMs: options.timeoutMs ?? 0,
    labels: { ...options.labels },
    queue: options.queue === "" ? undefined : options.queue,
    after: [...(options.after ?? [])],
    startAt: options.startAt,
    readiness: options.readiness,
    priority: options.priority ?? 0,
    readyAt: undefined,
    readinessError: undefined,
    status,
    pid: undefined,
    exitCode: undefined,
    signal: undefined,
    error: undefined,
    stdoutBytes: 0,
    stderrBytes: 0,
    createdAt: Date.now(),
    startedAt: undefined,
    endedAt: undefined,
  };
}

/** What is stored of a start to start it again (its row's restart column); `line`: the first exec of its restart line. */
export function restartSpecOf(options: ExecStartOptions, line: string): RestartSpec {
  const { cwd, env, stdin, tty, outputMaxBytes, restartPolicy, restarts, delayMs, timeoutMs, queue, after, startAt, readiness, priority } = options;
  // Stored only when set, as rows written before they existed hold neither.
  const waits = { ...(after !== undefined && after.length > 0 ? { after } : {}), ...(priority !== undefined && priority !== 0 ? { priority } : {}) };
  return { cwd, env, stdin, tty, outputMaxBytes, restartPolicy, restarts, delayMs, line, timeoutMs, queue, startAt, readiness, ...waits };
}

/** Records on `record` how its process ended (recordEnd), with its --timeout's words (`timedOut`) and its byte counts; returns it. */
export function endExecRecord(record: ExecRecord, writer: OutputWriter, end: ProcessEnd, stopped: string | undefined, timedOut: string | undefined): ExecRecord {
  recordEnd(record, end, writer.describeLost(), stopped);
  if (timedOut !== undefined && end.t !== "failed-to-start") record.error = [timedOut, record.error].filter((part) => part !== undefined).join("; ");
  record.pid = undefined;
  record.stdoutBytes = writer.bytes(1);
  record.stderrBytes = writer.bytes(2);
  record.endedAt = Date.now();
  return record;
}

/** Whether running exec `exec`'s process is stopped (SIGSTOP, SIGTSTP: exec pause), as /proc says now. */
export function execPaused(exec: ExecRecord): boolean {
  return exec.status === "running" && processStopped(exec.pid);
}

/** Why exec `exec`, which is not running, takes no input or signals: it waits (`waitsFor`, in words), or has ended. */
export function notLiveError(exec: ExecRecord, waitsFor: string | undefined): TetherError {
  const why =
    waitsFor !== undefined
      ? `has not started: it waits ${waitsFor}; tether exec wait ${exec.id} returns once it has run`
      : `has ended (${exec.status}): it takes no input or signals; tether exec attach ${exec.id} shows its output`;
  return new TetherError(Code.FailedPrecondition, "EXEC_NOT_LIVE", `exec ${exec.id} ${why}`, { exec: exec.id, status: exec.status });
}
