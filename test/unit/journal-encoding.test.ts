import { equals, fromBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ReadJournalResponseSchema } from "../../gen/tether/v1/journal_service_pb.js";
import { encodingOf } from "../../daemon/services/encoded-messages.js";
import { readResponse } from "../../daemon/services/journal-service.js";
import type { JournalRecord } from "../../daemon/journal/types.js";

const record = (seq: number, size: number, meta?: Record<string, string>): JournalRecord => ({ seq, offset: seq * 1000, createdAt: 1_700_000_000_123 + seq, meta, data: Buffer.alloc(size, seq) });

describe("ReadJournal's pre-encoded responses", () => {
  it("decode to exactly the message the handler returns: every record's fields and data, and caught_up", () => {
    // Sizes that cross one-, two- and three-byte length prefixes; with and without metadata.
    const records = [record(1, 0), record(2, 127, { k: "v" }), record(3, 200), record(4, 70_000, { a: "1", b: "2" })];
    for (const [batch, caughtUp] of [[records, false], [records.slice(1, 2), true], [[], true]] as const) {
      const message = readResponse(batch, caughtUp);
      const parts = encodingOf(message);
      const own = parts === undefined ? undefined : Buffer.concat(parts);
      expect(own).toBeDefined();
      const decoded = fromBinary(ReadJournalResponseSchema, own!);
      expect(equals(ReadJournalResponseSchema, decoded, message)).toBe(true);
      expect(decoded.caughtUp).toBe(caughtUp);
      expect(decoded.records.map((r) => [Number(r.sequence), r.data.byteLength, r.data[0]])).toEqual(batch.map((r) => [r.seq, r.data.byteLength, r.data[0]]));
    }
  });
});
