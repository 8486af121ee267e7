import { gunzipSync, gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { GrpcFrames, type FrameErrors } from "../../common/grpc-frames.js";

const errors: FrameErrors = {
  compressed: () => new Error("compressed"),
  tooLarge: (bytes, max) => new Error(`too large: ${bytes} > ${max}`),
  truncated: () => new Error("truncated"),
};

function framed(payload: Buffer, compressed = false): Buffer {
  const head = Buffer.alloc(5);
  head[0] = compressed ? 1 : 0;
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}

/** Feeds `body` in chunks of the given sizes (the rest in one), returning every message. */
function split(frames: GrpcFrames, body: Buffer, sizes: number[]): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  for (const size of sizes) {
    out.push(...frames.push(body.subarray(at, at + size)));
    at += size;
  }
  if (at < body.length) out.push(...frames.push(body.subarray(at)));
  frames.end();
  return out;
}

describe("gRPC message framing", () => {
  const payloads = [Buffer.from("first"), Buffer.alloc(0), Buffer.alloc(70_000, 7), Buffer.from("last")];
  const body = Buffer.concat(payloads.map((p) => framed(p)));

  it("gives the same messages however the body is cut into chunks", () => {
    const whole = split(new GrpcFrames(1 << 20, errors), body, []);
    expect(whole).toEqual(payloads);
    const byteAtATime = split(new GrpcFrames(1 << 20, errors), body, Array.from({ length: body.length }, () => 1));
    expect(byteAtATime).toEqual(payloads);
    // Cuts inside the header (2), inside the large payload (16 KiB frames), and across messages.
    const http2Like = split(new GrpcFrames(1 << 20, errors), body, [2, 9, 16_384, 16_384, 16_384, 16_384, 3]);
    expect(http2Like).toEqual(payloads);
  });

  it("refuses a body that ends inside a header or a message, a message over the limit, and an undeclared compressed one", () => {
    expect(() => split(new GrpcFrames(1 << 20, errors), body.subarray(0, 3), [])).toThrow("truncated");
    expect(() => split(new GrpcFrames(1 << 20, errors), body.subarray(0, body.length - 1), [])).toThrow("truncated");
    expect(() => split(new GrpcFrames(1000, errors), body, [])).toThrow("too large: 70000 > 1000");
    expect(() => split(new GrpcFrames(1 << 20, errors), framed(Buffer.from("x"), true), [])).toThrow("compressed");
  });

  it("holds what has come, not what a header declares: a 15 MiB header and one byte allocate nothing of the sort", () => {
    const frames = new GrpcFrames(16 << 20, errors);
    const before = process.memoryUsage().arrayBuffers;
    const header = Buffer.alloc(5);
    header.writeUInt32BE(15 << 20, 1);
    expect(frames.push(Buffer.concat([header, Buffer.from("x")]))).toEqual([]);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(1 << 20);
    expect(() => frames.end()).toThrow("truncated");
  });

  it("decompresses a compressed message with the call's decompressor, split or whole", () => {
    const text = Buffer.from("hello ".repeat(5000));
    const compressed = framed(gzipSync(text), true);
    expect(split(new GrpcFrames(1 << 20, errors, gunzipSync), compressed, [])).toEqual([text]);
    expect(split(new GrpcFrames(1 << 20, errors, gunzipSync), compressed, [1, 4, 10])).toEqual([text]);
  });
});
