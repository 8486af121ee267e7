import type { DescMessage } from "@bufbuild/protobuf";
import { WireType } from "@bufbuild/protobuf/wire";
import { AttachPtyRequestSchema, AttachPtyResponseSchema, PtyOutputSchema, type AttachPtyRequest, type AttachPtyResponse, type PtyOutput } from "../gen/tether/v1/pty_service_pb.js";
import { putVarint, readVarint, varintSize } from "./varint.js";

/**
 * Hand-made wire codecs for the messages of a keystroke's round trip:
 * AttachPty's input requests and its output responses. protobuf-es's
 * reflective toBinary and fromBinary took ~20-30 µs each on that path at
 * each end (code that runs once a keystroke runs cold). Each codec takes its
 * one common shape and answers undefined for anything else, which
 * protobuf-es then takes; what it makes equals what protobuf-es makes
 * (test/unit/terminal-wire.test.ts); the messages are the plain objects
 * create() makes for these proto3 messages. The CLI's client encodes and
 * decodes with them, the daemon decodes requests with them.
 */
export interface FastCodec {
  /** The message's binary encoding, or undefined to leave it to toBinary. */
  encode?(message: unknown): Uint8Array | undefined;
  /** The message, or undefined to leave it to fromBinary. */
  decode?(bytes: Uint8Array): unknown;
}

const INPUT_TAG = AttachPtyRequestSchema.field.input.number * 8 + WireType.LengthDelimited;
const OUTPUT_TAG = AttachPtyResponseSchema.field.output.number * 8 + WireType.LengthDelimited;
const OUTPUT_DATA_TAG = PtyOutputSchema.field.data.number * 8 + WireType.LengthDelimited;
const OUTPUT_OFFSET_TAG = PtyOutputSchema.field.offset.number * 8 + WireType.Varint;

const attachPtyRequest: FastCodec = {
  /** `{ kind: { case: "input", value } }`: the input field, tag, length and bytes. */
  encode(message) {
    const kind = (message as { kind?: { case?: string; value?: unknown } }).kind;
    if (kind?.case !== "input" || !(kind.value instanceof Uint8Array) || INPUT_TAG >= 0x80) return undefined;
    const data = kind.value;
    const bytes = Buffer.allocUnsafe(1 + varintSize(data.byteLength) + data.byteLength);
    bytes[0] = INPUT_TAG;
    bytes.set(data, putVarint(bytes, 1, data.byteLength));
    return bytes;
  },
  /** A message that is one input field and nothing else. */
  decode(bytes) {
    if (bytes.byteLength === 0 || bytes[0] !== INPUT_TAG) return undefined;
    const length = readVarint(bytes, 1);
    if (length === undefined || length.end + length.value !== bytes.byteLength) return undefined;
    const message: AttachPtyRequest = { $typeName: "tether.v1.AttachPtyRequest", kind: { case: "input", value: bytes.subarray(length.end) } };
    return message;
  },
};

const attachPtyResponse: FastCodec = {
  /** A message that is one output field holding data and an offset (each at most once), and nothing else. */
  decode(bytes) {
    if (bytes.byteLength === 0 || bytes[0] !== OUTPUT_TAG) return undefined;
    const length = readVarint(bytes, 1);
    if (length === undefined || length.end + length.value !== bytes.byteLength) return undefined;
    let data: Uint8Array | undefined;
    let offset: number | undefined;
    for (let at = length.end; at < bytes.byteLength; ) {
      const tag = bytes[at];
      if (tag === OUTPUT_DATA_TAG && data === undefined) {
        const size = readVarint(bytes, at + 1);
        if (size === undefined || size.end + size.value > bytes.byteLength) return undefined;
        data = bytes.subarray(size.end, size.end + size.value);
        at = size.end + size.value;
      } else if (tag === OUTPUT_OFFSET_TAG && offset === undefined) {
        const value = readVarint(bytes, at + 1);
        if (value === undefined) return undefined;
        offset = value.value;
        at = value.end;
      } else {
        return undefined;
      }
    }
    const output: PtyOutput = { $typeName: "tether.v1.PtyOutput", data: data ?? new Uint8Array(0), offset: BigInt(offset ?? 0) };
    const message: AttachPtyResponse = { $typeName: "tether.v1.AttachPtyResponse", kind: { case: "output", value: output } };
    return message;
  },
};

export const FAST_CODECS: ReadonlyMap<DescMessage, FastCodec> = new Map<DescMessage, FastCodec>([
  [AttachPtyRequestSchema, attachPtyRequest],
  [AttachPtyResponseSchema, attachPtyResponse],
]);
