import type { Message } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";

/**
 * Messages that carry their own wire encoding, made by the handler that
 * built them: the gRPC server writes those bytes instead of encoding the
 * message again. The message stays a complete message (any other path
 * encodes it as usual); the bytes must be exactly its binary encoding.
 *
 * AttachSession uses it: a batch for one of a hundred attached clients is
 * assembled in one buffer from events encoded once for all of them, where
 * protobuf-es would copy it twice more (a nested message is encoded apart
 * and then copied into its parent).
 */
const encodings = new WeakMap<Message, Uint8Array>();

export function withEncoding<M extends Message>(message: M, encoded: Uint8Array): M {
  encodings.set(message, encoded);
  return message;
}

export function encodingOf(message: unknown): Uint8Array | undefined {
  return typeof message === "object" && message !== null ? encodings.get(message as Message) : undefined;
}

/**
 * The wire parts of message field `field` holding a message whose bytes
 * field `dataField` is written last, after `rest` (the message's other fields,
 * encoded): the data goes into its place on the wire as it is, where
 * protobuf-es would copy it into the nested message's encoding and then into
 * its parent's. Field order on the wire does not matter to any protobuf reader.
 */
export function dataLastParts(field: number, rest: Uint8Array, dataField: number, data: Uint8Array): Uint8Array[] {
  const dataHead = new BinaryWriter().tag(dataField, WireType.LengthDelimited).uint32(data.byteLength).finish();
  const head = new BinaryWriter().tag(field, WireType.LengthDelimited).uint32(rest.byteLength + dataHead.byteLength + data.byteLength).finish();
  return [head, rest, dataHead, data];
}

/**
 * `response`, whose one field `field` is a message carrying `data` in its
 * bytes field `dataField` and `rest` for its other fields, with its encoding
 * made in one buffer (dataLastParts): output chunks of execs and terminals.
 */
export function withDataLast<M extends Message>(response: M, field: number, rest: Uint8Array, dataField: number, data: Uint8Array): M {
  return withEncoding(response, Buffer.concat(dataLastParts(field, rest, dataField, data)));
}
