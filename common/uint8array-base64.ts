/**
 * Uint8Array.prototype.toBase64 (TC39's base64 proposal, in V8 from 13.x)
 * for Node 20, on Buffer's native encoder. protobuf-es encodes bytes to JSON
 * with it when it is there, and otherwise one character at a time into a
 * string: a 4 MiB record read as JSON over HTTP/1.1 took ~650 ms, most of it
 * collecting the pieces, ~8 MB/s. Imported before anything that imports
 * protobuf-es (which looks for the method once, when it loads); a Node that
 * has the method keeps its own.
 */
interface ToBase64Options {
  readonly alphabet?: "base64" | "base64url";
  readonly omitPadding?: boolean;
}

function toBase64(this: Uint8Array, options?: ToBase64Options): string {
  const bytes = Buffer.from(this.buffer, this.byteOffset, this.byteLength);
  if (options?.alphabet === "base64url") {
    // Node's base64url never pads.
    const text = bytes.toString("base64url");
    return options.omitPadding === true ? text : text.padEnd(Math.ceil(text.length / 4) * 4, "=");
  }
  const text = bytes.toString("base64");
  return options?.omitPadding === true ? text.replace(/=+$/, "") : text;
}

if (!("toBase64" in Uint8Array.prototype)) {
  Object.defineProperty(Uint8Array.prototype, "toBase64", { value: toBase64, writable: true, configurable: true, enumerable: false });
}
