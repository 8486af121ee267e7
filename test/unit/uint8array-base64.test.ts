// First, as the daemon's entry imports it: protobuf-es looks for the method once, when it loads.
import "../../common/uint8array-base64.js";
import { create, fromJsonString, toJsonString } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { JournalRecordSchema } from "../../gen/tether/v1/journal_pb.js";

type WithBase64 = Uint8Array & { toBase64(options?: { alphabet?: "base64" | "base64url"; omitPadding?: boolean }): string };

describe("Uint8Array.prototype.toBase64 on Node 20", () => {
  it("encodes as the proposal says: both alphabets, padding unless omitted, views of a larger buffer", () => {
    const bytes = new Uint8Array([0, 0xfb, 0xff, 0xfe, 0x10]).subarray(1, 3) as WithBase64;
    expect(bytes.toBase64()).toBe("+/8=");
    expect(bytes.toBase64({ omitPadding: true })).toBe("+/8");
    expect(bytes.toBase64({ alphabet: "base64url" })).toBe("-_8=");
    expect(bytes.toBase64({ alphabet: "base64url", omitPadding: true })).toBe("-_8");
    expect((new Uint8Array(0) as WithBase64).toBase64()).toBe("");
  });

  it("is what protobuf-es writes bytes to JSON with, and reads back", () => {
    for (const length of [0, 1, 2, 3, 4, 5, 1000, 4 * 1024 * 1024 + 1]) {
      const data = new Uint8Array(length).map((_, i) => (i * 7919) % 256);
      const json = toJsonString(JournalRecordSchema, create(JournalRecordSchema, { data }));
      expect(JSON.parse(json).data ?? "").toBe(Buffer.from(data).toString("base64"));
      expect(Buffer.compare(fromJsonString(JournalRecordSchema, json).data, data)).toBe(0);
    }
  });
});
