import { RunStatus, SessionActivity, SessionStatus, type Run, type Session } from "../gen/tether/v1/session_pb.js";
import { StreamDirection } from "../gen/tether/v1/stream_pb.js";
import { enumName } from "./enum-names.js";
import { isoTime } from "./iso-time.js";

/**
 * Sessions as `--json` prints them, in the shape every listing of the CLI
 * has (`ws`, `exec`, `pty`): snake_case keys, statuses as the words the
 * tables print, times as ISO 8601, null for what is not known yet. `ls`
 * prints sessionJson's fields; `show` adds the rest (sessionDetailJson).
 */
export function sessionJson(s: Session): Record<string, unknown> {
  return {
    id: s.id,
    task: s.task,
    status: enumName(SessionStatus, s.status),
    activity: enumName(SessionActivity, s.activity),
    waiting_for: s.waitingFor,
    paused: s.paused,
    unhealthy: s.unhealthy,
    exit_code: s.graphFinished || s.status !== SessionStatus.OPEN ? s.exitCode : null,
    created_at: isoTime(s.createTime),
    start_at: isoTime(s.startAt),
    after: s.after,
    ended_at: isoTime(s.endTime),
    error: s.error,
    external_id: s.externalId === "" ? null : s.externalId,
    labels: s.labels,
    workspace: s.workspace === "" ? null : s.workspace.replace(/^workspaces\//, ""),
    rerun_of: s.rerunOf === "" ? null : s.rerunOf,
    output_max_bytes: Number(s.outputMaxBytes) || null,
    output_first_offset: Number(s.outputFirstOffset),
  };
}

/** What `show --json` prints: the session as `ls --json` lists it, with its inputs, result, streams, xcom and runs (each with its state log). */
export function sessionDetailJson(s: Session, runs: readonly Run[]): Record<string, unknown> {
  return {
    ...sessionJson(s),
    task_file: s.taskFile,
    working_directory: s.workingDirectory,
    tasks: s.tasks,
    task_workspaces: Object.fromEntries(Object.entries(s.taskWorkspaces).map(([task, ws]) => [task, ws.replace(/^workspaces\//, "")])),
    inputs: s.inputs,
    result: s.result,
    updated_at: isoTime(s.updateTime),
    streams: s.streams.map((st) => ({ name: st.name, direction: enumName(StreamDirection, st.direction), records: Number(st.nextSequence) - 1, first_sequence: Number(st.firstSequence) || 1 })),
    xcom: s.xcom.map((x) => ({ key: x.key, value: x.value, updated_at: isoTime(x.updateTime) })),
    runs: runs.map((r) => ({
      number: r.number,
      task: r.task,
      attempt: r.attempt,
      status: enumName(RunStatus, r.status),
      exit_code: r.exitCode ?? null,
      reason: r.reason,
      pid: r.pid === 0 ? null : r.pid,
      paused: r.paused,
      unhealthy: r.unhealthy,
      command: r.command,
      transitions: r.transitions.map((t) => ({ status: enumName(RunStatus, t.status), time: isoTime(t.time), reason: t.reason })),
    })),
  };
}
