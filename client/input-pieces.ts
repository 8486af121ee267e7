import { readAllStdin } from "./stream-data.js";

/** The most one WritePty or WriteExecStdin carries (the daemon's limit): longer input goes in pieces of this, in order. */
const INPUT_PIECE_BYTES = 1024 * 1024;

/** What `pty send` and `exec send` write: the words joined by spaces, or all of stdin for a lone `-`; then `end`, if any. */
export async function inputOf(words: readonly string[], end: string): Promise<Buffer> {
  const given = words.length === 1 && words[0] === "-" ? await readAllStdin() : Buffer.from(words.join(" "));
  return end === "" ? given : Buffer.concat([given, Buffer.from(end)]);
}

/** Sends `data` a piece at a time, in order, each once the last was answered; `last` marks the final one (the only one, when data is empty). */
export async function sendInPieces(data: Buffer, send: (piece: Buffer, last: boolean) => Promise<unknown>): Promise<void> {
  let at = 0;
  do {
    const piece = data.subarray(at, at + INPUT_PIECE_BYTES);
    at += piece.byteLength;
    await send(piece, at >= data.byteLength);
  } while (at < data.byteLength);
}
