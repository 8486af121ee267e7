import { timestampFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import { SessionOutcome, type SessionService } from "../../gen/tether/v1/session_service_pb.js";
import { invalidArgument } from "../errors.js";
import { parseSignal } from "../process/signals.js";
import { parseLabelSelectors } from "../workspaces/labels.js";
import type { SessionReads } from "../sessions/session-reads.js";
import type { Sessions } from "../sessions/sessions.js";
import { waitOutcome } from "../sessions/session-outcome.js";
import { attachSession } from "./attach-session.js";
import { durationFieldMs } from "./durations.js";
import { MAX_PAGE_SIZE, nextPageToken, numericPageToken, pageSize } from "./paging.js";
import { sessionField } from "./session-field.js";
import { ACTIVITIES, STATUSES, chunkToProto, eventToProto, planToProto, runToProto, sessionToProto } from "./session-proto.js";

/** Handlers for tether.v1.SessionService: proto in, domain call, proto out. A call's signal aborts when the daemon stops too (see CallContexts); `daemonStopping` says why a follow ended. */
export function createSessionService(sessions: Sessions, reads: SessionReads, daemonStopping: AbortSignal): ServiceImpl<typeof SessionService> {
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
        ttlMs: durationFieldMs(req.ttl, "ttl", 0),
        idleTimeoutMs: durationFieldMs(req.idleTimeout, "idle_timeout", 0),
        workspace: req.workspace,
        labels: req.labels,
        outputMaxBytes: Number(req.outputMaxBytes),
        startAt: req.startAt === undefined ? undefined : timestampMs(req.startAt),
        after: req.after,
        env: { inherited: req.inheritedEnv, given: req.env },
        force: req.force,
      });
      return { session: sessionToProto(session, []), alreadyExisted: existed };
    },
    async signalSession(req) {
      const { session, runs } = await sessions.signal(req.name, req.task, parseSignal(req.signal));
      return { runs: runs.map((r) => runToProto(session, r)) };
    },
    planSession(req) {
      if (req.task === "") throw invalidArgument("task", "name the task to plan: task is empty");
      const env = { inherited: req.inheritedEnv, given: req.env };
      return planToProto(sessions.plan({ task: req.task, taskFile: req.taskFile, inputs: req.inputs, workspace: req.workspace, env }));
    },
    async startSessionNow(req) {
      return { session: sessionToProto(await sessions.startNow(req.name), []) };
    },
    async rerunSession(req) {
      const { session, existed } = await sessions.rerun(req.name, req.inputs, req.externalId, req.failedOnly);
      return { session: sessionToProto(session, []), alreadyExisted: existed };
    },
    getSession(req) {
      const session = sessions.get(req.name);
      return { session: sessionToProto(session, sessions.xcom(session.id), reads.streams(session.id)) };
    },
    listSessions(req) {
      const size = pageSize(req.pageSize);
      const before = numericPageToken(req.pageToken, 0);
      const status = enumFilter(STATUSES, req.status, "status");
      const outcome = enumFilter(OUTCOMES, req.outcome, "outcome");
      const filter = { status, task: req.task === "" ? undefined : req.task, labels: parseLabelSelectors(req.labelSelector), outcome };
      const page = sessions.list(filter, before, size + 1, enumFilter(ACTIVITIES, req.activity, "activity"));
      return {
        sessions: page.slice(0, size).map((s) => sessionToProto(s, [])),
        nextPageToken: nextPageToken(page, size, (s) => String(s.seq)),
      };
    },
    cancelSession(req) {
      return { session: sessionToProto(sessions.cancel(req.name, req.reason), []) };
    },
    async waitSession(req, ctx) {
      const session = await waitOutcome(sessions, req.name, { signal: ctx.signal, timeoutMs: durationFieldMs(req.timeout, "timeout", 0), untilReady: req.untilReady });
      return { session: sessionToProto(session, sessions.xcom(session.id), reads.streams(session.id)) };
    },
    closeSession(req) {
      return { session: sessionToProto(sessions.close(req.name), []) };
    },
    async deleteSession(req) {
      const { session, outputBytes } = await sessions.remove(req.name);
      return { session: sessionToProto(session, []), outputBytes: BigInt(outputBytes) };
    },
    listRuns(req) {
      const session = sessions.get(req.parent);
      // A graph's runs fit one page; a long conversation's take several.
      const size = pageSize(req.pageSize, MAX_PAGE_SIZE);
      const after = numericPageToken(req.pageToken, 0);
      const runs = sessions.runs(session.id, after, size + 1);
      return { runs: runs.slice(0, size).map((r) => runToProto(session.id, r)), nextPageToken: nextPageToken(runs, size, (r) => String(r.number)) };
    },
    async *readSessionLogs(req, ctx) {
      const sinceMs = req.since === undefined ? undefined : timestampMs(req.since);
      const chunks = reads.readLogs(req.name, { run: req.run, task: req.task, fromOffset: Number(req.fromOffset), tailLines: req.tailLines, sinceMs, follow: req.follow, signal: ctx.signal });
      try {
        for await (const batch of chunks) {
          yield { chunks: batch.map(chunkToProto) };
        }
      } catch (error) {
        if (daemonStopping.aborted) throw daemonStopping.reason;
        throw error;
      }
    },
    async *watchSession(req, ctx) {
      try {
        for await (const events of reads.watch(req.name, Number(req.fromSequence), req.follow, ctx.signal)) {
          yield { events: events.map(eventToProto) };
        }
      } catch (error) {
        if (daemonStopping.aborted) throw daemonStopping.reason;
        throw error;
      }
    },
    getXcom(req) {
      const value = sessions.getXcom(sessionField(req.session), req.key);
      return { entry: { key: value.key, value: value.value, updateTime: timestampFromMs(value.updatedAt) } };
    },
    setXcom(req) {
      const value = sessions.setXcom(sessionField(req.session), req.key, req.value);
      return { entry: { key: value.key, value: value.value, updateTime: timestampFromMs(value.updatedAt) } };
    },
    attachSession(requests, ctx) {
      return attachSession(sessions, reads, requests, ctx.signal);
    },
  };
}

const OUTCOMES: Readonly<Record<"succeeded" | "failed", SessionOutcome>> = { succeeded: SessionOutcome.SUCCEEDED, failed: SessionOutcome.FAILED };

/** A listing's filter by an enum field: the domain's word for `value`, undefined for 0 (any); a value the field does not have is refused, naming those it has. */
function enumFilter<K extends string>(words: Readonly<Record<K, number>>, value: number, field: string): K | undefined {
  if (value === 0) return undefined;
  const names = Object.keys(words) as K[];
  const word = names.find((k) => words[k] === value);
  if (word === undefined) throw invalidArgument(field, `${field} ${value} is none of the ones a listing filters by: ${names.map((k) => `${words[k]} (${k})`).join(", ")}`);
  return word;
}
