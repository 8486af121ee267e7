import { create, fromBinary, ScalarType, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { WireType } from "@bufbuild/protobuf/wire";
import { partsFrom } from "../common/buffer-parts.js";
import { readVarint } from "../common/varint.js";

/**
 * A response that came in several HTTP/2 pieces (Node's HTTP/2 sends at
 * most 16 KiB a frame, so a 1 MiB output chunk is 64 of them), kept as
 * those pieces: views of the buffers Node read them into.
 */
export class PartedMessage {
  constructor(
    readonly parts: readonly Buffer[],
    readonly byteLength: number,
  ) {}

  join(): Buffer {
    return Buffer.concat(this.parts, this.byteLength);
  }
}

/** Enough for the heads in front of an output chunk's data: two tags and lengths, and a few varint fields. */
const HEAD_MAX_BYTES = 64;

/**
 * Each decoded message's pieces until its caller takes them. Not a property
 * of the message: V8 allocates protobuf-es messages in the old generation
 * once many have lived a while (pretenuring), so whatever one references
 * lives to the next full collection, and pieces held so (views of Node's
 * 64 KiB read buffers, memory outside the heap) set off 15 of them per GiB,
 * which cost more than the join they saved. Taken out of here, they die in
 * the next scavenge.
 */
const DATA_PARTS = new Map<object, Buffer[]>();

/**
 * Decodes a response of the daemon's data-last shape (encoded-messages.ts:
 * one oneof field holding a message whose bytes field comes last, after its
 * varint fields and small ones such as a timestamp) without joining its
 * pieces: the bytes field stays those pieces (takeDataParts), so a CLI
 * writes them on as they are: for an
 * exec's GiB in 1 MiB chunks the CLI's CPU went from 1.36 to 1.18 s and the
 * GiB from 502 to 531 MB/s (paired runs, medians of 7).
 * Until they are taken the field reads as usual too (joined). Undefined
 * for any other shape, which the caller decodes whole.
 */
export function decodeDataLast<O extends DescMessage>(schema: O, message: PartedMessage): MessageShape<O> | undefined {
  const total = message.byteLength;
  const head = headOf(message.parts, Math.min(HEAD_MAX_BYTES, total));
  const outerTag = readVarint(head, 0);
  if (outerTag === undefined || outerTag.value % 8 !== WireType.LengthDelimited) return undefined;
  const field = schema.fields.find((f) => f.number === Math.floor(outerTag.value / 8));
  if (field?.fieldKind !== "message" || field.oneof === undefined) return undefined;
  const length = readVarint(head, outerTag.end);
  if (length === undefined || length.end + length.value !== total) return undefined;
  for (let at = length.end; ; ) {
    const tag = readVarint(head, at);
    if (tag === undefined) return undefined;
    const wireType = tag.value % 8;
    if (wireType === WireType.Varint) {
      const value = readVarint(head, tag.end);
      if (value === undefined) return undefined;
      at = value.end;
      continue;
    }
    if (wireType !== WireType.LengthDelimited) return undefined;
    const size = readVarint(head, tag.end);
    if (size === undefined) return undefined;
    const data = field.message.fields.find((f) => f.number === Math.floor(tag.value / 8));
    if (size.end + size.value !== total) {
      // A small field before the data (a timestamp): part of the head, decoded with the varint fields.
      if (size.end + size.value > head.byteLength) return undefined;
      at = size.end + size.value;
      continue;
    }
    if (data?.fieldKind !== "scalar" || data.scalar !== ScalarType.BYTES) return undefined;
    // The fields before the data are a message of their own on the wire.
    const inner = fromBinary(field.message, head.subarray(length.end, at)) as Record<string | symbol, unknown>;
    const parts = partsFrom(message.parts, size.end);
    Object.defineProperty(inner, data.localName, { enumerable: true, configurable: true, get: dataUntilTaken });
    DATA_PARTS.set(inner, parts);
    const outer = create(schema) as Record<string, unknown>;
    outer[field.oneof.localName] = { case: field.localName, value: inner };
    return outer as MessageShape<O>;
  }
}

/**
 * Takes a decoded message's bytes field as the pieces it came in
 * (decodeDataLast): once, after which the field reads empty; undefined for
 * a message that came whole.
 */
export function takeDataParts(message: object): readonly Buffer[] | undefined {
  const parts = DATA_PARTS.get(message);
  DATA_PARTS.delete(message);
  return parts;
}

/** The size of a message's bytes field, whether it came whole or in pieces (without taking them). */
export function dataBytes(message: { readonly data: Uint8Array }): number {
  return DATA_PARTS.get(message)?.reduce((bytes, part) => bytes + part.byteLength, 0) ?? message.data.byteLength;
}

/** The bytes field of a message decodeDataLast made, until its pieces are taken: joined (a copy) on each read. */
function dataUntilTaken(this: object): Uint8Array {
  const parts = DATA_PARTS.get(this);
  return parts === undefined ? new Uint8Array(0) : Buffer.concat(parts);
}

/** The first `bytes` of the pieces: a view when the first piece holds them, else a copy. */
function headOf(parts: readonly Buffer[], bytes: number): Buffer {
  if (parts[0]!.byteLength >= bytes) return parts[0]!.subarray(0, bytes);
  return Buffer.concat(parts, bytes);
}
