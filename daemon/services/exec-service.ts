import { timestampMs } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ExecRequest, ExecResponseSchema, ExecService } from "../../gen/tether/v1/exec_service_pb.js";
import { invalidArgument } from "../errors.js";
import { untilAborted } from "../until-aborted.js";
import { parseSignal } from "../process/signals.js";
import type { Execs, LiveExec } from "../workspaces/execs.js";
import type { Queues } from "../queues.js";
import { checkSize, defaultSize } from "../workspaces/terminal-size.js";
import { dataOrText } from "./data-or-text.js";
import { durationFieldMs, stopGraceMs } from "./durations.js";
import { readinessFromProto } from "./readiness-proto.js";
import { parseLabelSelectors } from "../workspaces/labels.js";
import { nextPageToken, numericPageToken, pageSize } from "./paging.js";
import { attachExecOutputResponse, execExitToProto, execOutputResponse, execToProto, restartPolicyFromProto } from "./workspace-proto.js";

/** Handlers for tether.v1.ExecService: proto in, domain call, proto out (a call's signal aborts when the daemon stops too: see CallContexts). */
export function createExecService(execs: Execs, queues: Queues): ServiceImpl<typeof ExecService> {
  return {
    async *exec(requests, ctx) {
      const incoming = requests[Symbol.asyncIterator]();
      const first = await incoming.next();
      if (first.done === true || first.value.kind.case !== "start") {
        throw invalidArgument("kind", "the first Exec message must be `start` (workspace and argv): later messages carry stdin, close_stdin, signal or resize");
      }
      const start = first.value.kind.value;
      const submitted = execs.submit({
        workspace: start.workspace,
        argv: start.argv,
        cwd: start.cwd,
        env: start.env,
        stdin: start.stdin,
        tty: start.tty ? defaultSize(start.size) : undefined,
        outputMaxBytes: Number(start.outputMaxBytes),
        name: start.displayName,
        restartPolicy: restartPolicyFromProto(start.restartPolicy),
        labels: start.labels,
        timeoutMs: durationFieldMs(start.timeout, "timeout", 0),
        queue: start.queue,
        after: start.after,
        startAt: start.startAt === undefined ? undefined : timestampMs(start.startAt),
        readiness: readinessFromProto(start.readiness),
        priority: start.priority,
      });
      let live: LiveExec;
      if ("process" in submitted) {
        live = submitted;
      } else {
        // Queued: said at once, then the call waits for its turn (the client's messages wait in flow control meanwhile).
        yield { kind: { case: "started", value: { exec: execToProto(submitted.record, execs) } } };
        const started = await untilAborted(submitted.started, ctx.signal);
        if (started === undefined) {
          yield { kind: { case: "exit", value: execExitToProto(execs.get(submitted.record.id)) } };
          return;
        }
        live = started;
      }
      await live.started;
      // A client showing it on a terminal (it gave that terminal's size) answers the program's queries to it while attached.
      const unlisten = start.size === undefined ? undefined : live.terminal?.listen();
      try {
        yield* execCall(live, start.stdin, incoming, ctx.signal, execs);
      } finally {
        unlisten?.();
      }
    },

    async *attachExec(req, ctx) {
      const from = await execs.output.startOffset(req.exec, { fromOffset: Number(req.fromOffset), tailLines: req.tailLines, sinceMs: req.since === undefined ? undefined : timestampMs(req.since) });
      const read = execs.output.read(req.exec, from, !req.noFollow, ctx.signal);
      yield { kind: { case: "exec", value: execToProto(read.exec, execs) } };
      for await (const chunks of read.chunks) {
        for (const chunk of chunks) yield attachExecOutputResponse(chunk);
      }
      const lost = read.lost();
      if (lost !== undefined) throw lost;
      const final = read.final();
      if (final.status !== "running" && final.status !== "queued") yield { kind: { case: "exit", value: execExitToProto(final) } };
    },
    getExec(req) {
      return { exec: execToProto(execs.get(req.exec), execs) };
    },
    listExecs(req) {
      const size = pageSize(req.pageSize);
      const before = numericPageToken(req.pageToken, Number.MAX_SAFE_INTEGER);
      const page = execs.list(req.workspace, before, size + 1, { runningOnly: req.runningOnly, labels: parseLabelSelectors(req.labelSelector), queue: req.queue });
      return { execs: page.slice(0, size).map((exec) => execToProto(exec, execs)), nextPageToken: nextPageToken(page, size, (e) => String(e.seq)) };
    },
    async writeExecStdin(req, ctx) {
      return { exec: execToProto(await execs.writeStdin(req.exec, dataOrText(req).bytes, req.close, ctx.signal), execs) };
    },
    async signalExec(req) {
      return { exec: execToProto(await execs.signal(req.exec, parseSignal(req.signal)), execs) };
    },
    async restartExec(req) {
      const { previous, next } = await execs.restart(req.exec, stopGraceMs(req.grace));
      // Answered once it runs, or has ended when it could not start (its reason then in its record).
      if ((await next.started) === undefined) await next.ended;
      return { exec: execToProto(execs.get(next.record.id), execs), previous: execToProto(previous, execs) };
    },
    async waitExec(req, ctx) {
      const wait = { signal: ctx.signal, timeoutMs: durationFieldMs(req.timeout, "timeout", 0) };
      return { exec: execToProto(await (req.untilReady ? execs.waits.ready(req.exec, wait) : execs.waits.end(req.exec, wait)), execs) };
    },
    renameExec(req) {
      return { exec: execToProto(execs.rename(req.exec, req.displayName), execs) };
    },
    async startExec(req) {
      return { exec: execToProto(await execs.startNow(req.exec), execs) };
    },
    async stopExec(req) {
      return { exec: execToProto(await execs.stop(req.exec, stopGraceMs(req.grace)), execs) };
    },
    listExecQueues() {
      return { queues: queues.list() };
    },
    updateExecQueue(req) {
      return { queue: queues.update(req.name, { parallel: req.parallel === 0 ? undefined : req.parallel, paused: req.paused }) };
    },
    deleteExecQueue(req) {
      return { queue: queues.forget(req.name) };
    },
    async deleteExec(req) {
      const { exec, outputBytes } = await execs.remove(req.exec);
      return { exec: execToProto(exec, execs), outputBytes: BigInt(outputBytes) };
    },
  };
}

/**
 * Applies an Exec call's later messages in order. Each stdin write waits
 * until the process has taken the bytes, and only then is the next message
 * read: a fast producer is held back by the call's flow control, not
 * buffered in the daemon.
 */
async function applyRequests(live: LiveExec, stdinOpen: boolean, incoming: AsyncIterator<ExecRequest>): Promise<void> {
  for (;;) {
    let next: IteratorResult<ExecRequest>;
    try {
      next = await incoming.next();
    } catch {
      return; // The client went away: it detached; the process goes on.
    }
    if (next.done === true) return;
    const kind = next.value.kind;
    switch (kind.case) {
      case "stdin":
        if (!stdinOpen) throw invalidArgument("stdin", "this exec was started without stdin: set start.stdin to send input");
        await live.stdin.write(kind.value);
        break;
      case "closeStdin":
        if (kind.value) live.stdin.close();
        break;
      case "signal":
        live.signalFromClient(parseSignal(kind.value));
        break;
      case "resize":
        if (!live.record.tty) throw invalidArgument("resize", "this exec has no terminal to resize: start it with tty");
        checkSize(kind.value.cols, kind.value.rows);
        live.process.resize(kind.value.cols, kind.value.rows);
        live.terminal?.resized(kind.value);
        break;
      default:
        throw invalidArgument("kind", "Exec takes `start` once, as the first message: later messages carry stdin, close_stdin, signal or resize");
    }
  }
}

/** The rest of an Exec call once its exec started: the exec, its output and its exit; the client's messages act on it. */
async function* execCall(live: LiveExec, stdinOpen: boolean, incoming: AsyncIterator<ExecRequest>, signal: AbortSignal, execs: Execs): AsyncGenerator<MessageInitShape<typeof ExecResponseSchema>> {
  yield { kind: { case: "started", value: { exec: execToProto(live.record, execs) } } };
  // Client messages act on the process while output streams; a bad one ends this call (the exec goes on).
  const broken = new AbortController();
  void applyRequests(live, stdinOpen, incoming).catch((error: unknown) => broken.abort(error));
  // The exec's own client paces it, as a pipe's reader would (see OutputPacer).
  const read = execs.output.read(live.record.id, 0, true, AbortSignal.any([signal, broken.signal]), true);
  for await (const chunks of read.chunks) {
    for (const chunk of chunks) yield execOutputResponse(chunk);
  }
  const lost = read.lost();
  if (lost !== undefined) throw lost;
  yield { kind: { case: "exit", value: execExitToProto(read.final()) } };
}
