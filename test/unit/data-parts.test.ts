import { toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { OutputStream } from "../../gen/tether/v1/exec_pb.js";
import { ExecResponseSchema } from "../../gen/tether/v1/exec_service_pb.js";
import { AttachPtyResponseSchema } from "../../gen/tether/v1/pty_service_pb.js";
import { decodeDataLast, PartedMessage, takeDataParts } from "../../client/data-parts.js";
import { GrpcFrames, type FrameErrors } from "../../common/grpc-frames.js";
import { encodingOf } from "../../daemon/services/encoded-messages.js";
import { execExitToProto, execOutputResponse, ptyOutputResponse } from "../../daemon/services/workspace-proto.js";

const errors: FrameErrors = { compressed: () => new Error("compressed"), tooLarge: () => new Error("too large"), truncated: () => new Error("truncated") };

/** The daemon's own encoding of a response, framed, and cut into 16 KiB pieces as Node's HTTP/2 delivers it; what GrpcFrames makes of them. */
function received(encoding: readonly Uint8Array[]): (Buffer | PartedMessage)[] {
  const payload = Buffer.concat(encoding);
  const body = Buffer.concat([Buffer.from([0, 0, 0, 0, 0]), payload]);
  body.writeUInt32BE(payload.length, 1);
  const frames = new GrpcFrames(1 << 24, errors, undefined, (parts, length) => new PartedMessage(parts, length));
  const out: (Buffer | PartedMessage)[] = [];
  for (let at = 0; at < body.length; at += 16_384) out.push(...frames.push(body.subarray(at, at + 16_384)));
  frames.end();
  return out;
}

describe("responses kept as the pieces they came in", () => {
  const data = Buffer.alloc(1_000_003);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7919) % 251;

  it("an exec's output chunk: its fields decoded, its data the pieces, in order, as protobuf-es reads the whole", () => {
    const response = execOutputResponse({ fd: 2, data, offset: 5_000_000_000, fdEnd: 7_000_000_000 + data.length });
    const [message] = received(encodingOf(response)!);
    expect(message).toBeInstanceOf(PartedMessage);
    const decoded = decodeDataLast(ExecResponseSchema, message as PartedMessage)!;
    expect(decoded.kind.case).toBe("output");
    const output = decoded.kind.value as Exclude<typeof decoded.kind.value, undefined> & { stream: OutputStream; offset: bigint; streamOffset: bigint };
    expect([output.stream, output.offset, output.streamOffset]).toEqual([OutputStream.STDERR, 5_000_000_000n, 7_000_000_000n]);
    // Read before it is taken: the bytes, joined.
    expect(Buffer.from((output as { data: Uint8Array }).data).equals(data)).toBe(true);
    const parts = takeDataParts(output)!;
    expect(parts.length).toBeGreaterThan(60);
    expect(Buffer.concat(parts).equals(data)).toBe(true);
    // Taken once.
    expect(takeDataParts(output)).toBeUndefined();
    // The same message, as protobuf-es encodes and decodes it, for comparison.
    expect(toBinary(ExecResponseSchema, response).length).toBe((message as PartedMessage).byteLength);
  });

  it("an exec's output chunk with its store time (a timestamp before the data) decodes the same way", () => {
    const at = Date.UTC(2026, 11, 6, 2, 30, 0, 123);
    const response = execOutputResponse({ fd: 1, data, offset: 42, fdEnd: 42 + data.length, createdAt: at });
    const [message] = received(encodingOf(response)!);
    const decoded = decodeDataLast(ExecResponseSchema, message as PartedMessage)!;
    const output = (decoded.kind.case === "output" ? decoded.kind.value : undefined)!;
    expect([output.offset, output.createTime?.seconds, output.createTime?.nanos]).toEqual([42n, BigInt(Math.floor(at / 1000)), 123_000_000]);
    expect(Buffer.concat(takeDataParts(output)!).equals(data)).toBe(true);
    expect(toBinary(ExecResponseSchema, response).length).toBe((message as PartedMessage).byteLength);
  });

  it("a PTY's output (data first in the schema, last on the wire) decodes the same way", () => {
    const piece = data.subarray(0, 65_536);
    const [message] = received(encodingOf(ptyOutputResponse({ fd: 1, data: piece, offset: 123, fdEnd: 123 + piece.length }))!);
    const decoded = decodeDataLast(AttachPtyResponseSchema, message as PartedMessage)!;
    expect(decoded.kind.case === "output" && decoded.kind.value.offset).toBe(123n);
    expect(Buffer.concat(takeDataParts(decoded.kind.value as object)!).equals(piece)).toBe(true);
  });

  it("leaves any other shape to be decoded whole", () => {
    const exit = toBinary(ExecResponseSchema, { $typeName: "tether.v1.ExecResponse", kind: { case: "exit", value: execExitToProto({ status: "exited", exitCode: 3, error: "x".repeat(40_000) } as never) } });
    expect(decodeDataLast(ExecResponseSchema, new PartedMessage([Buffer.from(exit.subarray(0, 9)), Buffer.from(exit.subarray(9))], exit.length))).toBeUndefined();
    // Data not last: protobuf-es writes fields in order, so the offset follows the data.
    const dataFirst = toBinary(AttachPtyResponseSchema, { $typeName: "tether.v1.AttachPtyResponse", kind: { case: "output", value: { $typeName: "tether.v1.PtyOutput", data: data.subarray(0, 40_000), offset: 9n } } });
    expect(decodeDataLast(AttachPtyResponseSchema, new PartedMessage([Buffer.from(dataFirst.subarray(0, 100)), Buffer.from(dataFirst.subarray(100))], dataFirst.length))).toBeUndefined();
  });
});
