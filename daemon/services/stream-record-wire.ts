import { WireType } from "@bufbuild/protobuf/wire";
import { TimestampSchema } from "@bufbuild/protobuf/wkt";
import { putVarint, putVarintField, varintFieldSize, varintSize } from "../../common/varint.js";
import { StreamRecordSchema } from "../../gen/tether/v1/stream_pb.js";
import type { StreamRecord } from "../sessions/stream-records.js";

/**
 * tether.v1.StreamRecord's binary encoding, written by hand into a buffer
 * sized first: the answers to a client's batch of inputs carry one record
 * each, and protobuf-es's create and reflective toBinary took ~6 µs a
 * record, a sixth of what the daemon spent on an input. The bytes are
 * exactly toBinary's (fields in number order, empty ones left out), as
 * test/unit/attach-encoding.test.ts holds.
 */
const FIELD = StreamRecordSchema.field;
const STREAM = tag(FIELD.stream.number, WireType.LengthDelimited);
const SEQUENCE = tag(FIELD.sequence.number, WireType.Varint);
const DATA = tag(FIELD.data.number, WireType.LengthDelimited);
const CONTENT_TYPE = tag(FIELD.contentType.number, WireType.LengthDelimited);
const CORRELATION_ID = tag(FIELD.correlationId.number, WireType.LengthDelimited);
const IDEMPOTENCY_KEY = tag(FIELD.idempotencyKey.number, WireType.LengthDelimited);
const CREATE_TIME = tag(FIELD.createTime.number, WireType.LengthDelimited);
const SECONDS = tag(TimestampSchema.field.seconds.number, WireType.Varint);
const NANOS = tag(TimestampSchema.field.nanos.number, WireType.Varint);

function tag(fieldNumber: number, wireType: WireType): number {
  return fieldNumber * 8 + wireType;
}

/** The record's encoded size. */
export function streamRecordSize(r: StreamRecord): number {
  const time = timestampSize(r.createdAt);
  return (
    stringFieldSize(STREAM, r.stream) +
    varintFieldSize(SEQUENCE, r.seq) +
    lengthFieldSize(DATA, r.data.byteLength) +
    stringFieldSize(CONTENT_TYPE, r.contentType) +
    stringFieldSize(CORRELATION_ID, r.correlationId) +
    stringFieldSize(IDEMPOTENCY_KEY, r.idempotencyKey) +
    varintSize(CREATE_TIME) +
    varintSize(time) +
    time
  );
}

/** Writes the record at `at` (streamRecordSize bytes of room); returns where it ends. */
export function putStreamRecord(into: Buffer, at: number, r: StreamRecord): number {
  at = putString(into, at, STREAM, r.stream);
  at = putVarintField(into, at, SEQUENCE, r.seq);
  if (r.data.byteLength > 0) {
    at = putVarint(into, putVarint(into, at, DATA), r.data.byteLength);
    into.set(r.data, at);
    at += r.data.byteLength;
  }
  at = putString(into, at, CONTENT_TYPE, r.contentType);
  at = putString(into, at, CORRELATION_ID, r.correlationId);
  at = putString(into, at, IDEMPOTENCY_KEY, r.idempotencyKey);
  // A message field that is set is written even when empty, as protobuf-es writes it.
  at = putVarint(into, putVarint(into, at, CREATE_TIME), timestampSize(r.createdAt));
  const { seconds, nanos } = timestampParts(r.createdAt);
  return putVarintField(into, putVarintField(into, at, SECONDS, seconds), NANOS, nanos);
}

/** A length-delimited field of `length` bytes, as its tag and length take it; nothing when empty (proto3 leaves it out). */
function lengthFieldSize(fieldTag: number, length: number): number {
  return length === 0 ? 0 : varintSize(fieldTag) + varintSize(length) + length;
}

function stringFieldSize(fieldTag: number, value: string): number {
  return lengthFieldSize(fieldTag, Buffer.byteLength(value));
}

function putString(into: Buffer, at: number, fieldTag: number, value: string): number {
  if (value === "") return at;
  const length = Buffer.byteLength(value);
  at = putVarint(into, putVarint(into, at, fieldTag), length);
  return at + into.write(value, at, "utf8");
}

/** google.protobuf.Timestamp of a time in ms since the epoch (after it: the daemon's clock), as timestampFromMs makes it. */
function timestampParts(ms: number): { seconds: number; nanos: number } {
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: (ms - seconds * 1000) * 1_000_000 };
}

function timestampSize(ms: number): number {
  const { seconds, nanos } = timestampParts(ms);
  return varintFieldSize(SECONDS, seconds) + varintFieldSize(NANOS, nanos);
}
