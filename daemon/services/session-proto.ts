import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import {
  LogStream,
  RunSchema,
  RunStatus,
  SessionActivity,
  SessionEventSchema,
  SessionSchema,
  SessionStatus,
  type LogChunk,
  type Run,
  type Session,
  type SessionEvent as SessionEventProto,
} from "../../gen/tether/v1/session_pb.js";
import { StreamDirection, StreamRecordSchema, type StreamRecord as StreamRecordProto } from "../../gen/tether/v1/stream_pb.js";
import { PlanSessionResponseSchema, PlannedCondition, PlannedWorkspaceSchema, type PlanSessionResponse, type PlannedWorkspace } from "../../gen/tether/v1/session_service_pb.js";
import type { SessionEvent } from "../sessions/session-journal.js";
import { runPaused } from "../sessions/session-signals.js";
import { runUnhealthy } from "../sessions/run-wiring.js";
import type { PlannedPlace, StartPlan } from "../sessions/start-plan.js";
import type { StreamInfo, TaskOutputChunk } from "../sessions/session-reads.js";
import type { StreamRecord } from "../sessions/stream-records.js";
import type * as domain from "../sessions/types.js";
import { taskToProto } from "./task-service.js";
import type { StreamDirection as Direction } from "../tasks/types.js";

// Session resources in proto form: the one place the session enums are mapped.

export const STATUSES: Readonly<Record<domain.SessionStatus, SessionStatus>> = {
  open: SessionStatus.OPEN,
  closed: SessionStatus.CLOSED,
  cancelled: SessionStatus.CANCELLED,
  expired: SessionStatus.EXPIRED,
};
export const ACTIVITIES: Readonly<Record<domain.Activity, SessionActivity>> = {
  idle: SessionActivity.IDLE,
  queued: SessionActivity.QUEUED,
  running: SessionActivity.RUNNING,
  waiting: SessionActivity.WAITING,
};
export const RUN_STATUSES: Readonly<Record<domain.RunStatus, RunStatus>> = {
  pending: RunStatus.PENDING,
  queued: RunStatus.QUEUED,
  running: RunStatus.RUNNING,
  ready: RunStatus.READY,
  waiting: RunStatus.WAITING,
  succeeded: RunStatus.SUCCEEDED,
  failed: RunStatus.FAILED,
  skipped: RunStatus.SKIPPED,
  cancelled: RunStatus.CANCELLED,
  lost: RunStatus.LOST,
};

export function sessionToProto(session: domain.SessionView, xcom: readonly domain.XcomValue[], streams: readonly StreamInfo[] = []): Session {
  return create(SessionSchema, {
    name: `sessions/${session.id}`,
    id: session.id,
    task: session.task,
    status: STATUSES[session.status],
    activity: ACTIVITIES[session.activity],
    inputs: { ...session.spec.inputs },
    externalId: session.externalId ?? "",
    labels: { ...session.labels },
    taskFile: session.spec.taskFile,
    workingDirectory: session.spec.workingDirectory,
    workspace: session.spec.workspace === undefined ? "" : `workspaces/${session.spec.workspace.id}`,
    tasks: session.spec.tasks.map((t) => t.name),
    rerunOf: session.spec.rerunOf ?? "",
    outputMaxBytes: BigInt(session.spec.outputMaxBytes ?? 0),
    outputFirstOffset: BigInt(session.outputFirstOffset),
    taskWorkspaces: Object.fromEntries(Object.entries(session.spec.taskWorkspaces ?? {}).map(([task, ws]) => [task, `workspaces/${ws.id}`])),
    result: session.result ?? "",
    error: session.error ?? "",
    exitCode: session.exitCode ?? 0,
    graphFinished: session.exitCode !== undefined || session.status !== "open",
    createTime: timestampFromMs(session.createdAt),
    updateTime: timestampFromMs(session.updatedAt),
    ...(session.endedAt !== undefined ? { endTime: timestampFromMs(session.endedAt) } : {}),
    xcom: xcom.map((x) => ({ key: x.key, value: x.value, updateTime: timestampFromMs(x.updatedAt) })),
    waitingFor: session.waitingFor,
    paused: session.paused,
    unhealthy: session.unhealthy,
    startAt: session.spec.startAt === undefined ? undefined : timestampFromMs(session.spec.startAt),
    after: [...(session.spec.after ?? [])],
    streams: streams.map((st) => ({ name: st.name, direction: directionToProto(st.direction), nextSequence: BigInt(st.nextSeq), firstSequence: BigInt(st.firstSeq) })),
  });
}

export function runToProto(sessionId: string, run: domain.RunRecord): Run {
  return create(RunSchema, {
    name: `sessions/${sessionId}/runs/${run.number}`,
    number: run.number,
    task: run.task,
    attempt: run.attempt,
    status: RUN_STATUSES[run.status],
    pid: run.pid ?? 0,
    ...(run.exitCode !== undefined ? { exitCode: run.exitCode } : {}),
    reason: run.reason,
    command: run.command,
    paused: runPaused(run),
    unhealthy: runUnhealthy(run),
    transitions: run.transitions.map((t) => ({ status: RUN_STATUSES[t.status], time: timestampFromMs(t.at), reason: t.reason })),
  });
}

export function eventToProto(event: SessionEvent): SessionEventProto {
  return create(SessionEventSchema, {
    sequence: BigInt(event.seq),
    time: timestampFromMs(event.at),
    status: STATUSES[event.status],
    activity: ACTIVITIES[event.activity],
    reason: event.reason,
    ...(event.run !== undefined
      ? {
          run: {
            number: event.run.number,
            task: event.run.task,
            attempt: event.run.attempt,
            status: RUN_STATUSES[event.run.status],
            ...(event.run.exitCode !== undefined ? { exitCode: event.run.exitCode } : {}),
            reason: event.run.reason,
          },
        }
      : {}),
  });
}

export function chunkToProto(c: TaskOutputChunk): LogChunk {
  return {
    $typeName: "tether.v1.LogChunk",
    run: c.run,
    task: c.task,
    stream: c.fd === 1 ? LogStream.STDOUT : LogStream.STDERR,
    offset: BigInt(c.offset),
    logOffset: BigInt(c.logOffset),
    data: c.data,
    createTime: timestampFromMs(c.createdAt),
  };
}

export function streamRecordToProto(r: StreamRecord): StreamRecordProto {
  return create(StreamRecordSchema, {
    stream: r.stream,
    sequence: BigInt(r.seq),
    data: r.data,
    contentType: r.contentType,
    correlationId: r.correlationId,
    idempotencyKey: r.idempotencyKey,
    createTime: timestampFromMs(r.createdAt),
  });
}

export function directionToProto(direction: Direction): StreamDirection {
  return direction === "input" ? StreamDirection.INPUT : StreamDirection.OUTPUT;
}

const PLANNED_CONDITIONS: Readonly<Record<StartPlan["tasks"][number]["condition"], PlannedCondition>> = {
  none: PlannedCondition.NONE,
  holds: PlannedCondition.HOLDS,
  fails: PlannedCondition.FAILS,
  deferred: PlannedCondition.DEFERRED,
};

export function planToProto(plan: StartPlan): PlanSessionResponse {
  return create(PlanSessionResponseSchema, {
    taskFile: plan.taskFile,
    inputs: { ...plan.inputs },
    tasks: plan.tasks.map(({ task, line, command, condition, place, cwd }) => ({
      task: taskToProto(task, line),
      command,
      condition: PLANNED_CONDITIONS[condition],
      workspace: placeToProto(place),
      workingDirectory: cwd,
    })),
    workspace: placeToProto(plan.place),
  });
}

function placeToProto(place: PlannedPlace): PlannedWorkspace {
  return create(PlannedWorkspaceSchema, "workspace" in place ? { name: `workspaces/${place.workspace.id}`, displayName: place.workspace.name, root: place.workspace.root } : { root: place.adopts });
}
