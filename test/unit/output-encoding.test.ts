import { equals, fromBinary, type DescMessage } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { AttachExecResponseSchema, ExecResponseSchema } from "../../gen/tether/v1/exec_service_pb.js";
import { AttachPtyResponseSchema } from "../../gen/tether/v1/pty_service_pb.js";
import { encodingOf } from "../../daemon/services/encoded-messages.js";
import { attachExecOutputResponse, execOutputResponse, ptyOutputResponse } from "../../daemon/services/workspace-proto.js";
import type { OutputPiece } from "../../daemon/process/output-tap.js";

// Offsets across one- to eight-byte varints (0 is left out of the wire, as protobuf-es leaves it), and data sizes across length prefixes.
const OFFSETS = [0, 1, 127, 128, 16_383, 16_384, 2 ** 32 + 5, Number.MAX_SAFE_INTEGER - 70_000];
const SIZES = [0, 1, 127, 128, 70_000];

function pieces(): OutputPiece[] {
  return OFFSETS.flatMap((offset, i) => SIZES.map((size) => ({ fd: i % 2 === 0 ? 1 : 2, data: Buffer.alloc(size, i + 1), offset, fdEnd: Math.floor(offset / 2) + size }) as const));
}

function ownEncoding(message: object): Uint8Array {
  const parts = encodingOf(message);
  expect(parts).toBeDefined();
  return Buffer.concat(parts!);
}

describe("exec and terminal output responses' own encodings", () => {
  const cases: [string, DescMessage, (piece: OutputPiece) => object][] = [
    ["ExecResponse", ExecResponseSchema, execOutputResponse],
    ["AttachExecResponse", AttachExecResponseSchema, attachExecOutputResponse],
    ["AttachPtyResponse", AttachPtyResponseSchema, ptyOutputResponse],
  ];
  for (const [name, schema, make] of cases) {
    it(`${name}: decodes to exactly the message the handler returns, offsets and data included`, () => {
      for (const piece of pieces()) {
        const message = make(piece);
        const decoded = fromBinary(schema, ownEncoding(message));
        // A copy is not the message the encoding was made for: it gets encoded as usual.
        expect(encodingOf({ ...message })).toBeUndefined();
        expect(equals(schema, decoded, message as never)).toBe(true);
        const output = (decoded as unknown as { kind: { value: { offset: bigint; data: Uint8Array } } }).kind.value;
        expect([output.offset, output.data.byteLength, output.data[0]]).toEqual([BigInt(piece.offset), piece.data.byteLength, piece.data[0]]);
      }
    });
  }
});
