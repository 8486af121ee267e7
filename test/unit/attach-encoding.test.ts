import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { AttachInputSchema, AttachSessionResponseSchema, type AttachInput } from "../../gen/tether/v1/session_service_pb.js";
import { StreamRecordSchema } from "../../gen/tether/v1/stream_pb.js";
import { TetherError } from "../../daemon/errors.js";
import { streamRecordToProto } from "../../daemon/services/session-proto.js";
import { answersResponse, inputOutcome, type InputSettled } from "../../daemon/services/input-answers.js";
import type { SendResult } from "../../daemon/sessions/session-streams.js";
import type { StreamRecord } from "../../daemon/sessions/stream-records.js";
import { eventsResponse } from "../../daemon/services/attach-session.js";
import { encodingOf } from "../../daemon/services/encoded-messages.js";
import type { SessionItem } from "../../daemon/sessions/session-reads.js";

const record = (sequence: number, text: string): SessionItem => ({
  kind: "record",
  record: { stream: "events", seq: sequence, data: Buffer.from(text), contentType: "text/plain", correlationId: sequence % 2 === 0 ? "even" : "", idempotencyKey: "", createdAt: 1_700_000_000_000 + sequence },
});

describe("AttachSession's pre-encoded event batches", () => {
  it("are byte for byte what protobuf-es writes for the same message, and decode to the events in order", () => {
    // Sizes that cross one-byte and two-byte length prefixes.
    const items = [1, 2, 3, 200].map((n) => ({ position: n * 1000, item: record(n, "x".repeat(n)) }));
    for (const [batch, caughtUp] of [[items, false], [items.slice(0, 1), true], [[], false], [items, true]] as const) {
      const message = eventsResponse(batch, caughtUp);
      const parts = encodingOf(message);
      const own = parts === undefined ? undefined : Buffer.concat(parts);
      expect(own).toBeDefined();
      expect(Buffer.from(own!)).toEqual(Buffer.from(toBinary(AttachSessionResponseSchema, message)));
      const decoded = fromBinary(AttachSessionResponseSchema, own!);
      expect(decoded.kind.case).toBe("events");
      expect(decoded.kind.case === "events" && decoded.kind.value.caughtUp).toBe(caughtUp);
      const events = decoded.kind.case === "events" ? decoded.kind.value.events : [];
      expect(events.map((e) => Number(e.position))).toEqual(batch.map((i) => i.position));
      expect(events.map((e) => (e.kind.case === "record" ? Buffer.from(e.kind.value.data).toString() : ""))).toEqual(batch.map((i) => (i.item.kind === "record" ? i.item.record.data.toString() : "")));
      // Each record (written by hand) is byte for byte what protobuf-es writes for it.
      events.forEach((e, i) => {
        const item = batch[i]!.item;
        if (e.kind.case !== "record" || item.kind !== "record") throw new Error("expected a record");
        expect(Buffer.from(toBinary(StreamRecordSchema, e.kind.value))).toEqual(Buffer.from(toBinary(StreamRecordSchema, streamRecordToProto(item.record))));
      });
    }
  });
});

describe("AttachSession's hand-encoded answers to a batch of inputs", () => {
  const input = (clientRef: bigint): AttachInput => create(AttachInputSchema, { stream: "inbox", data: Buffer.from("x"), clientRef });
  const sent = (seq: number, fields: Partial<StreamRecord> = {}, duplicate = false): SendResult => ({
    record: { stream: "inbox", seq, data: Buffer.from(`record ${seq}`), contentType: "text/plain", correlationId: "", idempotencyKey: "", createdAt: 1_700_000_000_123, ...fields },
    duplicate,
  });

  it("are byte for byte what protobuf-es writes for the answers built as messages, whatever each input's outcome", () => {
    const settled: InputSettled[] = [
      { input: input(1n), sent: sent(1) },
      // Empty fields left out, a whole second (nanos 0), two-byte lengths, multi-byte UTF-8.
      { input: input(0n), sent: sent(2, { data: new Uint8Array(0), contentType: "", createdAt: 1_700_000_000_000 }) },
      { input: input(300n), sent: sent(3, { data: Buffer.alloc(300, 7), correlationId: "fil rouge — ñ", idempotencyKey: "k-1" }, true) },
      { input: input(2n ** 60n), sent: sent(4) },
      { input: input(5n), error: new TetherError(Code.InvalidArgument, "RECORD_INVALID", "the data is not valid JSON") },
    ];
    for (const batch of [settled, settled.slice(0, 1)]) {
      const message = answersResponse(batch);
      const own = Buffer.concat(encodingOf(message)!);
      const built = create(AttachSessionResponseSchema, { kind: { case: "answers", value: { answers: batch.map((one) => ({ kind: inputOutcome(one) })) } } });
      expect(own).toEqual(Buffer.from(toBinary(AttachSessionResponseSchema, built)));
      // The message object says the same as its bytes.
      expect(Buffer.from(toBinary(AttachSessionResponseSchema, message))).toEqual(own);
      const decoded = fromBinary(AttachSessionResponseSchema, own);
      const answers = decoded.kind.case === "answers" ? decoded.kind.value.answers : [];
      expect(answers.map((a) => a.kind.case)).toEqual(batch.map((one) => ("sent" in one ? "accepted" : "rejected")));
    }
  });
});
