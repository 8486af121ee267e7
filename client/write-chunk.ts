import { once } from "node:events";
import { writevSync } from "node:fs";
import { partsFrom } from "../common/buffer-parts.js";
import { takeDataParts } from "./data-parts.js";

/**
 * Writes a chunk of a process's output (an ExecOutput or PtyOutput) to `out`;
 * resolves to its size. A chunk that came in pieces (data-parts.ts) goes to
 * the descriptor with one writev when nothing waits in the stream before
 * it; what the descriptor does not take at once (a full pipe or terminal,
 * an error) goes through the stream after it, in order. `seen` is shown
 * each piece first.
 */
export async function writeChunk(out: NodeJS.WriteStream & { readonly fd: number }, chunk: { readonly data: Uint8Array }, seen?: (bytes: Buffer) => void): Promise<number> {
  const parts = takeDataParts(chunk);
  if (parts === undefined) {
    seen?.(Buffer.from(chunk.data.buffer, chunk.data.byteOffset, chunk.data.byteLength));
    if (!out.write(chunk.data)) await once(out, "drain");
    return chunk.data.byteLength;
  }
  if (seen !== undefined) for (const part of parts) seen(part);
  const rest = out.writableLength === 0 ? writeNow(out.fd, parts) : parts;
  for (const part of rest) if (!out.write(part)) await once(out, "drain");
  return parts.reduce((bytes, part) => bytes + part.byteLength, 0);
}

/** Writes what `fd` takes at once; returns the rest. */
function writeNow(fd: number, parts: readonly Buffer[]): readonly Buffer[] {
  let written: number;
  try {
    written = writevSync(fd, parts);
  } catch {
    return parts;
  }
  return partsFrom(parts, written);
}
