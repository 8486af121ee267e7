import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { AttachSessionResponseSchema } from "../../gen/tether/v1/session_service_pb.js";
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
    for (const batch of [items, items.slice(0, 1), []]) {
      const message = eventsResponse(batch);
      const parts = encodingOf(message);
      const own = parts === undefined ? undefined : Buffer.concat(parts);
      expect(own).toBeDefined();
      expect(Buffer.from(own!)).toEqual(Buffer.from(toBinary(AttachSessionResponseSchema, message)));
      const decoded = fromBinary(AttachSessionResponseSchema, own!);
      expect(decoded.kind.case).toBe("events");
      const events = decoded.kind.case === "events" ? decoded.kind.value.events : [];
      expect(events.map((e) => Number(e.position))).toEqual(batch.map((i) => i.position));
      expect(events.map((e) => (e.kind.case === "record" ? Buffer.from(e.kind.value.data).toString() : ""))).toEqual(batch.map((i) => (i.item.kind === "record" ? i.item.record.data.toString() : "")));
    }
  });
});
