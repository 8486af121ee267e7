import type { Message } from "@bufbuild/protobuf";
import { WireType } from "@bufbuild/protobuf/wire";
import { putVarint, putVarintField, varintFieldSize, varintSize } from "../../common/varint.js";

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
/**
 * The encoding rides on the message under a symbol, with the message it was
 * made for: a copy (a spread carries symbol properties along) is not that
 * message and is encoded as usual. A WeakMap took ~0.6 µs a message, and
 * work for the garbage collector; this ~20 ns.
 */
const ENCODING = Symbol("tether.encoding");

interface Encoded {
  [ENCODING]?: { readonly of: object; readonly parts: readonly Uint8Array[] };
}

export function withEncoding<M extends Message>(message: M, parts: readonly Uint8Array[]): M {
  (message as Encoded)[ENCODING] = { of: message, parts };
  return message;
}

export function encodingOf(message: unknown): readonly Uint8Array[] | undefined {
  if (typeof message !== "object" || message === null) return undefined;
  const encoding = (message as Encoded)[ENCODING];
  return encoding?.of === message ? encoding.parts : undefined;
}

/**
 * `message` holding `elements`, the encoded elements (each tag, length,
 * message) of its repeated message field `field`, as protobuf-es's unknown
 * fields, which it writes verbatim as a tag followed by the data: the data
 * is the elements less the first one's tag. A message whose encoding is
 * assembled from encoded elements (withEncoding) so says the same as its
 * bytes; nothing in the daemon reads its elements back.
 */
export function holdingElements<M extends Message>(message: M, field: number, elements: Uint8Array): M {
  if (elements.byteLength > 0) message.$unknown = [{ no: field, wireType: WireType.LengthDelimited, data: elements.subarray(varintSize(field * 8 + WireType.LengthDelimited)) }];
  return message;
}

/** A varint field (an int64, uint32 or enum) of a message: its number, and its value, a non-negative safe integer. */
export type VarintField = readonly [fieldNumber: number, value: number];

/**
 * The wire parts of message field `field` holding a message whose bytes
 * field `dataField` is written last, after `rest` (the message's other
 * fields: encoded, or varint fields to encode, a zero left out as
 * protobuf-es leaves it out): a few bytes of heads and fields, then the data
 * as it is, where protobuf-es would copy it into the nested message's
 * encoding and then into its parent's. Field order on the wire does not
 * matter to any protobuf reader. The heads are written by hand into one
 * buffer: on a keystroke's echo, protobuf-es's toBinary and writers took
 * tens of microseconds.
 */
export function dataLastParts(field: number, rest: Uint8Array | readonly VarintField[], dataField: number, data: Uint8Array): [Uint8Array, Uint8Array] {
  const outerTag = field * 8 + WireType.LengthDelimited;
  const dataTag = dataField * 8 + WireType.LengthDelimited;
  const restSize = rest instanceof Uint8Array ? rest.byteLength : varintFieldsSize(rest);
  const innerHead = restSize + varintSize(dataTag) + varintSize(data.byteLength);
  const inner = innerHead + data.byteLength;
  const head = Buffer.allocUnsafe(varintSize(outerTag) + varintSize(inner) + innerHead);
  let at = putVarint(head, putVarint(head, 0, outerTag), inner);
  if (rest instanceof Uint8Array) head.set(rest, at);
  else putVarintFields(head, at, rest);
  at = putVarint(head, at + restSize, dataTag);
  putVarint(head, at, data.byteLength);
  return [head, data];
}

function varintFieldsSize(fields: readonly VarintField[]): number {
  let size = 0;
  for (const [number, value] of fields) size += varintFieldSize(number * 8 + WireType.Varint, value);
  return size;
}

function putVarintFields(into: Uint8Array, at: number, fields: readonly VarintField[]): void {
  for (const [number, value] of fields) at = putVarintField(into, at, number * 8 + WireType.Varint, value);
}

/**
 * `response`, whose one field `field` is a message carrying `data` in its
 * bytes field `dataField` and `rest` for its other fields, with its encoding
 * (dataLastParts): output chunks of execs and terminals.
 */
export function withDataLast<M extends Message>(response: M, field: number, rest: Uint8Array | readonly VarintField[], dataField: number, data: Uint8Array): M {
  return withEncoding(response, dataLastParts(field, rest, dataField, data));
}
