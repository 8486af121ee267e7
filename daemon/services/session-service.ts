import { create } from "@bufbuild/protobuf";
import { durationMs, timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  LogStream,
  RunSchema,
  RunStatus,
  SessionActivity,
  SessionEventSchema,
  SessionSchema,
  SessionStatus,
  type Run,
  type Session,
  type SessionEvent as SessionEventProto,
} from "../../gen/tether/v1/session_pb.js";
import type { SessionService } from "../../gen/tether/v1/session_service_pb.js";
import { invalidArgument } from "../errors.js";
import type { SessionEvent } from "../sessions/session-journal.js";
import type { Sessions } from "../sessions/sessions.js";
import type * as domain from "../sessions/types.js";
import { pageSize, pageToken, nextPageToken } from "./paging.js";

const STATUSES: Readonly<Record<domain.SessionStatus, SessionStatus>> = {
  open: SessionStatus.OPEN,
  closed: SessionStatus.CLOSED,
  cancelled: SessionStatus.CANCELLED,
  expired: SessionStatus.EXPIRED,
};
const ACTIVITIES: Readonly<Record<domain.Activity, SessionActivity>> = {
  idle: SessionActivity.IDLE,
  queued: SessionActivity.QUEUED,
  running: SessionActivity.RUNNING,
  waiting: SessionActivity.WAITING,
};
const RUN_STATUSES: Readonly<Record<domain.RunStatus, RunStatus>> = {
  pending: RunStatus.PENDING,
  queued: RunStatus.QUEUED,
  running: RunStatus.RUNNING,
  ready: RunStatus.READY,
  succeeded: RunStatus.SUCCEEDED,
  failed: RunStatus.FAILED,
  skipped: RunStatus.SKIPPED,
  cancelled: RunStatus.CANCELLED,
  lost: RunStatus.LOST,
};

/** Handlers for tether.v1.SessionService: proto in, domain call, proto out. */
export function createSessionService(sessions: Sessions, daemonStopping: AbortSignal): ServiceImpl<typeof SessionService> {
  return {
    async startSession(req) {
      if (req.task === "") throw invalidArgument("task", "name the task to run: task is empty");
      const { session, existed } = await sessions.start({
        task: req.task,
        taskFile: req.taskFile,
        inputs: req.inputs,
        externalId: req.externalId,
        parallelism: req.parallelism,
        failFast: req.failFast,
        ttlMs: req.ttl === undefined ? 0 : durationMs(req.ttl),
        idleTimeoutMs: req.idleTimeout === undefined ? 0 : durationMs(req.idleTimeout),
      });
      return { session: sessionToProto(session, []), alreadyExisted: existed };
    },
    getSession(req) {
      const session = sessions.get(req.name);
      return { session: sessionToProto(session, sessions.xcom(session.id)) };
    },
    listSessions(req) {
      const size = pageSize(req.pageSize);
      const token = pageToken(req.pageToken);
      const before = token === "" ? 0 : Number(token);
      if (!Number.isSafeInteger(before) || before < 0) throw invalidArgument("page_token", "page_token is not one this daemon issued");
      const statusFilter = (Object.keys(STATUSES) as domain.SessionStatus[]).find((s) => STATUSES[s] === req.status);
      const page = sessions.list({ status: statusFilter, task: req.task === "" ? undefined : req.task }, before, size + 1);
      return {
        sessions: page.sessions.slice(0, size).map((s) => sessionToProto(s, [])),
        nextPageToken: nextPageToken(page.sessions, size, (s) => String(s.seq)),
      };
    },
    cancelSession(req) {
      return { session: sessionToProto(sessions.cancel(req.name, req.reason), []) };
    },
    closeSession(req) {
      return { session: sessionToProto(sessions.close(req.name), []) };
    },
    listRuns(req) {
      const session = sessions.get(req.parent);
      return { runs: sessions.runs(session.id).map((r) => runToProto(session.id, r)) };
    },
    async *readSessionLogs(req, ctx) {
      const signal = AbortSignal.any([ctx.signal, daemonStopping]);
      const chunks = sessions.readLogs(req.name, { run: req.run, task: req.task, fromOffset: Number(req.fromOffset), follow: req.follow, signal });
      try {
        for await (const batch of chunks) {
          yield {
            chunks: batch.map((c) => ({
              run: c.run,
              task: c.task,
              stream: c.fd === 1 ? LogStream.STDOUT : LogStream.STDERR,
              offset: BigInt(c.offset),
              logOffset: BigInt(c.logOffset),
              data: c.data,
            })),
          };
        }
      } catch (error) {
        if (daemonStopping.aborted) throw daemonStopping.reason;
        throw error;
      }
    },
    async *watchSession(req, ctx) {
      const signal = AbortSignal.any([ctx.signal, daemonStopping]);
      try {
        for await (const events of sessions.watch(req.name, Number(req.fromSequence), req.follow, signal)) {
          yield { events: events.map(eventToProto) };
        }
      } catch (error) {
        if (daemonStopping.aborted) throw daemonStopping.reason;
        throw error;
      }
    },
    getXcom(req) {
      const value = sessions.getXcom(req.session, req.key);
      return { entry: { key: value.key, value: value.value, updateTime: timestampFromMs(value.updatedAt) } };
    },
    setXcom(req) {
      const value = sessions.setXcom(req.session, req.key, req.value);
      return { entry: { key: value.key, value: value.value, updateTime: timestampFromMs(value.updatedAt) } };
    },
  };
}

function sessionToProto(session: domain.SessionView, xcom: readonly domain.XcomValue[]): Session {
  return create(SessionSchema, {
    name: `sessions/${session.id}`,
    id: session.id,
    task: session.task,
    status: STATUSES[session.status],
    activity: ACTIVITIES[session.activity],
    inputs: { ...session.spec.inputs },
    externalId: session.externalId ?? "",
    taskFile: session.spec.taskFile,
    workingDirectory: session.spec.workingDirectory,
    result: session.result ?? "",
    error: session.error ?? "",
    exitCode: session.exitCode ?? 0,
    createTime: timestampFromMs(session.createdAt),
    updateTime: timestampFromMs(session.updatedAt),
    ...(session.endedAt !== undefined ? { endTime: timestampFromMs(session.endedAt) } : {}),
    xcom: xcom.map((x) => ({ key: x.key, value: x.value, updateTime: timestampFromMs(x.updatedAt) })),
    waitingFor: session.waitingFor,
  });
}

function runToProto(sessionId: string, run: domain.RunRecord): Run {
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
    transitions: run.transitions.map((t) => ({ status: RUN_STATUSES[t.status], time: timestampFromMs(t.at), reason: t.reason })),
  });
}

function eventToProto(event: SessionEvent): SessionEventProto {
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
