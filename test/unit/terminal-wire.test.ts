import { create, equals, fromBinary, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { AttachPtyRequestSchema, AttachPtyResponseSchema, PtyOutputSchema } from "../../gen/tether/v1/pty_service_pb.js";
import { FAST_CODECS } from "../../common/terminal-wire.js";

const request = FAST_CODECS.get(AttachPtyRequestSchema)!;
const response = FAST_CODECS.get(AttachPtyResponseSchema)!;
const SIZES = [0, 1, 127, 128, 16_384, 70_000];
const OFFSETS = [0, 1, 127, 128, 2 ** 32 + 5, 2 ** 49 - 1];

describe("the hand-made codecs of a keystroke's round trip", () => {
  it("encode an input request byte for byte as protobuf-es does, and decode it to the same message", () => {
    for (const size of SIZES) {
      const message = { kind: { case: "input" as const, value: Buffer.alloc(size, 7) } };
      const ours = request.encode!(message)!;
      expect(Buffer.from(ours).equals(Buffer.from(toBinary(AttachPtyRequestSchema, create(AttachPtyRequestSchema, message))))).toBe(true);
      const decoded = request.decode!(ours) as ReturnType<typeof fromBinary<typeof AttachPtyRequestSchema>>;
      expect(equals(AttachPtyRequestSchema, decoded, fromBinary(AttachPtyRequestSchema, ours))).toBe(true);
    }
  });

  it("decode output responses to what protobuf-es decodes, whatever the order of their fields", () => {
    for (const size of SIZES) {
      for (const offset of OFFSETS) {
        const message = create(AttachPtyResponseSchema, { kind: { case: "output", value: { data: Buffer.alloc(size, 3), offset: BigInt(offset) } } });
        const bytes = toBinary(AttachPtyResponseSchema, message);
        expect(equals(AttachPtyResponseSchema, response.decode!(bytes) as typeof message, message)).toBe(true);
        // Offset first, data last: the daemon's own order (encoded-messages.ts).
        const inner = Buffer.concat([toBinary(PtyOutputSchema, create(PtyOutputSchema, { offset: BigInt(offset) })), toBinary(PtyOutputSchema, create(PtyOutputSchema, { data: Buffer.alloc(size, 3) }))]);
        const reordered = Buffer.concat([Buffer.from([0x12]), varint(inner.byteLength), inner]);
        expect(equals(AttachPtyResponseSchema, response.decode!(reordered) as typeof message, fromBinary(AttachPtyResponseSchema, reordered))).toBe(true);
      }
    }
  });

  it("leave every other message to protobuf-es", () => {
    const others = [
      toBinary(AttachPtyRequestSchema, create(AttachPtyRequestSchema, { kind: { case: "resize", value: { cols: 80, rows: 24 } } })),
      toBinary(AttachPtyRequestSchema, create(AttachPtyRequestSchema, { kind: { case: "signal", value: "INT" } })),
      toBinary(AttachPtyRequestSchema, create(AttachPtyRequestSchema, { kind: { case: "open", value: { target: { case: "pty", value: "p-1" } } } })),
      // Two inputs in one message (the last wins in protobuf), a truncated one, a larger-than-49-bit length.
      Buffer.from([0x12, 1, 0x61, 0x12, 1, 0x62]),
      Buffer.from([0x12, 5, 0x61]),
      Buffer.from([0x12, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
    ];
    for (const bytes of others) expect(request.decode!(bytes)).toBeUndefined();
    expect(request.encode!({ kind: { case: "detach", value: true } })).toBeUndefined();
    const exit = toBinary(AttachPtyResponseSchema, create(AttachPtyResponseSchema, { kind: { case: "exit", value: { exitCode: 3 } } }));
    expect(response.decode!(exit)).toBeUndefined();
    expect(response.decode!(Buffer.from([0x12, 4, 0x10, 1, 0x10, 2]))).toBeUndefined();
  });
});

function varint(value: number): Buffer {
  const bytes: number[] = [];
  for (; value >= 0x80; value = Math.floor(value / 0x80)) bytes.push((value % 0x80) | 0x80);
  bytes.push(value);
  return Buffer.from(bytes);
}
