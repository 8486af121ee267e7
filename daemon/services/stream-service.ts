import type { ServiceImpl } from "@connectrpc/connect";
import type { StreamService } from "../../gen/tether/v1/stream_service_pb.js";
import { invalidArgument } from "../errors.js";
import type { SessionReads } from "../sessions/session-reads.js";
import type { Sessions } from "../sessions/sessions.js";
import { DEFAULT_CONTENT_TYPE } from "../sessions/stream-records.js";
import { durationFieldMs } from "./durations.js";
import { dataOrText } from "./data-or-text.js";
import { sessionField } from "./session-field.js";
import { streamRecordToProto } from "./session-proto.js";

/** Handlers for tether.v1.StreamService: proto in, domain call, proto out. A call's signal aborts when the daemon stops too (see CallContexts); `daemonStopping` says why a follow ended. */
export function createStreamService(sessions: Sessions, reads: SessionReads, daemonStopping: AbortSignal): ServiceImpl<typeof StreamService> {
  return {
    async sendInput(req) {
      const { bytes, isText } = dataOrText(req);
      const { record, duplicate } = await sessions.send(sessionField(req.session), req.stream, {
        data: bytes,
        contentType: req.contentType !== "" ? req.contentType : isText ? "text/plain" : DEFAULT_CONTENT_TYPE,
        correlationId: req.correlationId,
        idempotencyKey: req.idempotencyKey,
      });
      return { record: streamRecordToProto(record), duplicate };
    },
    async writeOutput(req) {
      if (req.run === 0) throw invalidArgument("run", "name the writing run: run is TETHER_RUN inside a task");
      const inputs = req.records.map((r) => ({
        data: r.data,
        contentType: r.contentType === "" ? DEFAULT_CONTENT_TYPE : r.contentType,
        correlationId: r.correlationId,
        idempotencyKey: "",
      }));
      const { firstSeq, lastSeq } = await sessions.writeOutput(sessionField(req.session), req.run, req.stream, inputs);
      return { firstSequence: BigInt(firstSeq), lastSequence: BigInt(lastSeq) };
    },
    async *readStream(req, ctx) {
      const records = reads.readStream(sessionField(req.session), req.stream, { fromSeq: Number(req.fromSequence), tailRecords: req.tailRecords, correlationId: req.correlationId, follow: req.follow, signal: ctx.signal });
      try {
        for await (const batch of records) yield { records: batch.map(streamRecordToProto) };
      } catch (error) {
        if (daemonStopping.aborted) throw daemonStopping.reason;
        throw error;
      }
    },
    async waitForInput(req, ctx) {
      if (req.peek) return { record: streamRecordToProto(sessions.peek(sessionField(req.session), req.stream, req.correlationId)) };
      if (req.run === 0) throw invalidArgument("run", "name the waiting run: run is TETHER_RUN inside a task");
      const timeoutMs = durationFieldMs(req.timeout, "timeout", 0);
      const record = await sessions.waitForInput(sessionField(req.session), {
        run: req.run,
        stream: req.stream,
        correlationId: req.correlationId,
        timeoutMs,
        signal: ctx.signal,
      });
      return { record: streamRecordToProto(record) };
    },
  };
}
