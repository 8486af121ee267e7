/**
 * Protobuf varints of non-negative safe integers (offsets, lengths, tags),
 * for the few messages encoded and decoded by hand (daemon/services/encoded-messages.ts,
 * stream-record-wire.ts, input-answers.ts, terminal-wire.ts): plain arithmetic, as
 * bitwise operators stop at 32 bits.
 */

/** How many bytes `value` takes; throws for what is not a non-negative safe integer (a bug of the caller's). */
export function varintSize(value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`cannot encode ${value} as a varint here: a non-negative safe integer is expected`);
  let size = 1;
  for (let rest = value; rest >= 0x80; rest = Math.floor(rest / 0x80)) size++;
  return size;
}

/** Writes `value` (checked by varintSize) at `at`; returns where it ends. */
export function putVarint(into: Uint8Array, at: number, value: number): number {
  let rest = value;
  while (rest >= 0x80) {
    into[at++] = (rest % 0x80) | 0x80;
    rest = Math.floor(rest / 0x80);
  }
  into[at++] = rest;
  return at;
}

/** A varint field's size, by its tag: nothing when the value is 0 (proto3 leaves it out). */
export function varintFieldSize(tag: number, value: number): number {
  return value === 0 ? 0 : varintSize(tag) + varintSize(value);
}

/** Writes a varint field (tag, value) unless the value is 0; returns where it ends. */
export function putVarintField(into: Uint8Array, at: number, tag: number, value: number): number {
  return value === 0 ? at : putVarint(into, putVarint(into, at, tag), value);
}

/** The varint at `at` and where it ends; undefined when it runs off the end or passes 49 bits (protobuf-es is left those). */
export function readVarint(bytes: Uint8Array, at: number): { value: number; end: number } | undefined {
  let value = 0;
  let scale = 1;
  for (let i = at; i < bytes.byteLength && i < at + 7; i++) {
    const byte = bytes[i]!;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) return { value, end: i + 1 };
    scale *= 0x80;
  }
  return undefined;
}
