import type { Message } from "@bufbuild/protobuf";
import { WireType } from "@bufbuild/protobuf/wire";
import { putVarint, varintSize } from "../../client/varint.js";

/**
 * Messages that carry their own wire encoding, made by the handler that
 * built them: the gRPC server writes those bytes instead of encoding the
 * message again. The message stays a complete message (any other path
 * encodes it as usual); the bytes must be exactly its binary encoding. The
 * encoding is a list of parts, written one after another as they are
 * (HTTP/2 takes them without joining them), so a large piece of data goes
 * out from the buffer it was read into.
 *
 * AttachSession uses it: a batch for one of a hundred attached clients is
 * assembled in one buffer from events encoded once for all of them, where
 * protobuf-es would copy it twice more (a nested message is encoded apart
 * and then copied into its parent).
 */
const encodings = new WeakMap<Message, readonly Uint8Array[]>();

export function withEncoding<M extends Message>(message: M, parts: readonly Uint8Array[]): M {
  encodings.set(message, parts);
  return message;
}

export function encodingOf(message: unknown): readonly Uint8Array[] | undefined {
  return typeof message === "object" && message !== null ? encodings.get(message as Message) : undefined;
}

/**
 * The wire parts of message field `field` holding a message whose bytes
 * field `dataField` is written last, after `rest` (the message's other fields,
 * encoded): a few bytes of heads and fields, then the data as it is, where
 * protobuf-es would copy it into the nested message's encoding and then into
 * its parent's. Field order on the wire does not matter to any protobuf reader.
 * The heads are written by hand into one buffer: on a keystroke's echo,
 * protobuf-es's writers took tens of microseconds.
 */
export function dataLastParts(field: number, rest: Uint8Array, dataField: number, data: Uint8Array): [Uint8Array, Uint8Array] {
  const outerTag = field * 8 + WireType.LengthDelimited;
  const dataTag = dataField * 8 + WireType.LengthDelimited;
  const innerHead = rest.byteLength + varintSize(dataTag) + varintSize(data.byteLength);
  const inner = innerHead + data.byteLength;
  const head = Buffer.allocUnsafe(varintSize(outerTag) + varintSize(inner) + innerHead);
  let at = putVarint(head, putVarint(head, 0, outerTag), inner);
  head.set(rest, at);
  at = putVarint(head, at + rest.byteLength, dataTag);
  putVarint(head, at, data.byteLength);
  return [head, data];
}

/** A varint field (an int64, uint32 or enum) of a message: its number, and its value, a non-negative safe integer. */
export type VarintField = readonly [fieldNumber: number, value: number];

/**
 * The wire encoding of varint fields, a zero left out as protobuf-es leaves
 * it out: the `rest` of an output chunk (offsets, a stream), made by hand
 * (toBinary took ~1.7 µs hot, and far more on a keystroke's cold path).
 */
export function varintFields(fields: readonly VarintField[]): Uint8Array {
  let size = 0;
  for (const [number, value] of fields) if (value !== 0) size += varintSize(number * 8 + WireType.Varint) + varintSize(value);
  const bytes = Buffer.allocUnsafe(size);
  let at = 0;
  for (const [number, value] of fields) if (value !== 0) at = putVarint(bytes, putVarint(bytes, at, number * 8 + WireType.Varint), value);
  return bytes;
}

/**
 * `response`, whose one field `field` is a message carrying `data` in its
 * bytes field `dataField` and `rest` for its other fields, with its encoding
 * (dataLastParts): output chunks of execs and terminals.
 */
export function withDataLast<M extends Message>(response: M, field: number, rest: Uint8Array, dataField: number, data: Uint8Array): M {
  return withEncoding(response, dataLastParts(field, rest, dataField, data));
}
