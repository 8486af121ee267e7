import type { Run } from "./direct-blocks.js";
import { DATA_SEGMENT_BYTES } from "./limits.js";

/*
 * Where a journal's data bytes live: byte X of journal J is in segment file
 * `{J}.{floor(X / DATA_SEGMENT_BYTES)}` at X % DATA_SEGMENT_BYTES (see
 * data-files.ts). These cut writes and reads along those files.
 */

/** Bytes to store at journal offset `offset` of journal `journalId`. */
export interface DataWrite {
  readonly journalId: number;
  readonly offset: number;
  readonly data: Uint8Array;
}

/**
 * The writes, cut at segment boundaries, as one run per segment. A call's
 * writes to a journal are appends that follow each other (in any order):
 * anything else would have two writes of one call race for a block.
 */
export function runs(writes: readonly DataWrite[]): Run[] {
  const bySegment = new Map<string, Run["parts"]>();
  for (const write of writes) {
    for (const piece of pieces(write.journalId, write.offset, write.data.byteLength)) {
      const parts = bySegment.get(piece.key) ?? [];
      parts.push({ data: write.data, from: piece.from, length: piece.length, position: piece.position });
      bySegment.set(piece.key, parts);
    }
  }
  return [...bySegment].map(([key, parts]) => {
    parts.sort((a, b) => a.position - b.position);
    let length = 0;
    for (const part of parts) {
      if (part.position !== parts[0]!.position + length) throw new Error(`data files: the writes to ${key} in one call do not follow each other`);
      length += part.length;
    }
    return { key, position: parts[0]!.position, length, parts };
  });
}

/** Where `length` bytes from journal offset `offset` go: one piece per segment they fall in. */
export interface Piece {
  readonly key: string;
  /** Where in the segment file. */
  readonly position: number;
  /** Where in the data. */
  readonly from: number;
  readonly length: number;
}

export function pieces(journalId: number, offset: number, length: number): Piece[] {
  const out: Piece[] = [];
  for (let from = 0; from < length; ) {
    const segment = Math.floor((offset + from) / DATA_SEGMENT_BYTES);
    const position = offset + from - segment * DATA_SEGMENT_BYTES;
    const size = Math.min(length - from, DATA_SEGMENT_BYTES - position);
    out.push({ key: `${journalId}.${segment}`, position, from, length: size });
    from += size;
  }
  return out;
}
