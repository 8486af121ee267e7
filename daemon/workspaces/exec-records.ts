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
