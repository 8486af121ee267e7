/**
 * Bytes of output for a JSON line: `{ [key]: text }`, and beside it
 * `${key}_base64` with the bytes themselves when the text does not hold them
 * (bytes that are not UTF-8, or a character cut at the chunk's edge, which
 * the text gives as U+FFFD): a script that needs the exact bytes takes those.
 */
export function bytesJson(key: string, data: Uint8Array): Record<string, string> {
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const text = bytes.toString("utf8");
  return Buffer.from(text).equals(bytes) ? { [key]: text } : { [key]: text, [`${key}_base64`]: bytes.toString("base64") };
}
