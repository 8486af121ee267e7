import { setImmediate as nextTurn } from "node:timers/promises";
import { invalidArgument } from "../errors.js";
import type { Journals } from "./journals.js";
import { READ_BATCH_MAX_BYTES, READ_BATCH_MAX_RECORDS, TAIL_SCAN_MAX_BYTES } from "./limits.js";
import type { JournalRecord } from "./types.js";

const NEWLINE = 0x0a;

/** Which records a read keeps (its filter): a tail counts only those. */
export type Keep = (record: JournalRecord) => boolean;

const KEEP_ALL: Keep = () => true;

/** Where a read of a byte log is asked to start: at a byte offset, at its last lines, or at a time. */
export interface ReadStart {
  readonly fromOffset: number;
  readonly tailLines: number | undefined;
  /** Milliseconds since the epoch. */
  readonly sinceMs: number | undefined;
}

/**
 * Where a read of a byte log asked for by offset, by tail or by time starts:
 * `fromOffset`; where its last `tailLines` lines start (lineTailOffset,
 * `keep` as there); or its first output stored at `sinceMs` or later
 * (timeStartOffset). More than one at once is refused.
 */
export function readStartOffset(journals: Journals, name: string, start: ReadStart, keep?: Keep): Promise<number> {
  const { fromOffset, tailLines, sinceMs } = start;
  if (sinceMs !== undefined) {
    if (fromOffset !== 0 || tailLines !== undefined) throw invalidArgument("since", "since cannot be used with from_offset or tail_lines: start at a time, a byte offset or the last lines, one of them");
    return timeStartOffset(journals, name, sinceMs);
  }
  if (tailLines === undefined) return Promise.resolve(fromOffset);
  if (fromOffset !== 0) throw invalidArgument("tail_lines", "from_offset and tail_lines cannot be used together: start at a byte offset or at the last lines, not both");
  return lineTailOffset(journals, name, tailLines, keep);
}

/**
 * Where the output of a byte log stored at `sinceMs` or later starts, as
 * `docker logs --since` reads it: the offset of the first such record
 * (records are stored in time order), its end when there is none, its first
 * retained byte when all are. Scans back from the end (scanBack) as far as
 * it takes, a page at a time off the daemon's thread.
 */
export async function timeStartOffset(journals: Journals, name: string, sinceMs: number): Promise<number> {
  if (journals.endOf(name) === 0) return 0;
  let start = journals.get(name).nextOffset;
  const end = await scanBack(journals, name, Infinity, (record) => {
    if (record.createdAt < sinceMs) return start;
    start = record.offset;
    return undefined;
  });
  return "found" in end ? end.found : journals.get(name).firstOffset;
}

/**
 * Where a read of records asked for by sequence or by tail starts:
 * `fromSeq`, or the first of its last `tailRecords` records (recordTailSeq,
 * `keep` as there). Both at once is refused.
 */
export function readStartSeq(journals: Journals, name: string, fromSeq: number, tailRecords: number | undefined, keep?: Keep): Promise<number> {
  if (tailRecords === undefined) return Promise.resolve(fromSeq);
  if (fromSeq > 1) throw invalidArgument("tail_records", "from_sequence and tail_records cannot be used together: start at a sequence or at the last records, not both");
  return recordTailSeq(journals, name, tailRecords, keep);
}

/**
 * Where the last `lines` lines of a byte log start, as `tail -n` counts them
 * (a last line without its newline is a line; the newline ending the log
 * starts none): the offset to read from, with `keep` the filter the read
 * applies (the bytes of records it drops are not counted). Fewer lines than
 * that: the log's first retained byte; 0 lines: its end. Looks back at most
 * about `maxScanBytes` (scanBack), then starts at the earliest line start it
 * found, or where it stopped.
 */
export async function lineTailOffset(journals: Journals, name: string, lines: number, keep: Keep = KEEP_ALL, maxScanBytes = TAIL_SCAN_MAX_BYTES): Promise<number> {
  if (journals.endOf(name) === 0) return 0;
  if (lines === 0) return journals.get(name).nextOffset;
  let found = 0;
  let start: number | undefined;
  // The last kept byte may be the newline ending the log: it ends the last line and starts none.
  let atEnd = true;
  const end = await scanBack(journals, name, maxScanBytes, (record) => {
    if (!keep(record) || record.data.byteLength === 0) return undefined;
    const data = Buffer.from(record.data.buffer, record.data.byteOffset, record.data.byteLength);
    let at = data.byteLength - 1;
    if (atEnd) {
      atEnd = false;
      if (data[at] === NEWLINE) at -= 1;
    }
    while (at >= 0 && (at = data.lastIndexOf(NEWLINE, at)) >= 0) {
      start = record.offset + at + 1;
      if (++found === lines) return start;
      at -= 1;
    }
    return undefined;
  });
  if ("found" in end) return end.found;
  return end.stoppedAt === undefined ? journals.get(name).firstOffset : (start ?? end.stoppedAt.offset);
}

/**
 * The sequence of the `count`th last record of a journal that `keep` keeps:
 * where a read of its last `count` records starts. Fewer than that: its
 * first retained record; 0: its end. Looks back at most about
 * `maxScanBytes` (scanBack), then starts at the earliest record it kept, or
 * where it stopped.
 */
export async function recordTailSeq(journals: Journals, name: string, count: number, keep: Keep = KEEP_ALL, maxScanBytes = TAIL_SCAN_MAX_BYTES): Promise<number> {
  const journal = journals.find(name);
  if (journal === undefined) return 1;
  const { firstSeq, nextSeq } = journal;
  if (count === 0) return nextSeq;
  if (keep === KEEP_ALL) return Math.max(firstSeq, nextSeq - count);
  let found = 0;
  let earliest: number | undefined;
  const end = await scanBack(journals, name, maxScanBytes, (record) => {
    if (!keep(record)) return undefined;
    earliest = record.seq;
    return ++found === count ? record.seq : undefined;
  });
  if ("found" in end) return end.found;
  return end.stoppedAt === undefined ? journals.get(name).firstSeq : (earliest ?? end.stoppedAt.seq);
}

/**
 * Visits a journal's retained records from its end backwards until `visit`
 * returns something (`found`), or until about `maxScanBytes` of their data
 * have been read (`stoppedAt`: the earliest record read) or there are no
 * more (`stoppedAt` undefined). Reads a page of about READ_BATCH_MAX_BYTES
 * at a time (less near the limit; a page is at least one record), its data
 * off the daemon's thread (Journals.pageStored) and a turn of the event loop
 * between pages, so a long scan holds up no other call.
 */
async function scanBack<T>(
  journals: Journals,
  name: string,
  maxScanBytes: number,
  visit: (record: JournalRecord) => T | undefined,
): Promise<{ found: T } | { stoppedAt: JournalRecord | undefined }> {
  let scanned = 0;
  let endSeq = journals.get(name).nextSeq;
  // Records per page, from the sizes seen: a page stays near READ_BATCH_MAX_BYTES however large the records.
  let window = 1;
  for (;;) {
    const { firstSeq } = journals.get(name);
    if (endSeq <= firstSeq) return { stoppedAt: undefined };
    const page = await recordsBefore(journals, name, Math.max(firstSeq, endSeq - window), endSeq);
    if (page.length === 0) return { stoppedAt: undefined };
    let pageBytes = 0;
    for (let r = page.length - 1; r >= 0; r--) {
      pageBytes += page[r]!.data.byteLength;
      const found = visit(page[r]!);
      if (found !== undefined) return { found };
    }
    scanned += pageBytes;
    if (scanned >= maxScanBytes) return { stoppedAt: page[0]! };
    endSeq = page[0]!.seq;
    const wanted = Math.min(READ_BATCH_MAX_BYTES, maxScanBytes - scanned);
    window = Math.max(1, Math.min(READ_BATCH_MAX_RECORDS, Math.floor((wanted * page.length) / Math.max(1, pageBytes))));
    // Rows in the database are read on the daemon's thread: other calls go between pages.
    await nextTurn();
  }
}

/** The records from `fromSeq` up to (not including) `endSeq`, read forward a batch at a time, past the record cache. */
async function recordsBefore(journals: Journals, name: string, fromSeq: number, endSeq: number): Promise<JournalRecord[]> {
  const records: JournalRecord[] = [];
  for (let seq = fromSeq; seq < endSeq; ) {
    const batch = await journals.pageStored(name, seq, endSeq - seq, READ_BATCH_MAX_BYTES);
    if (batch.length === 0) break;
    for (const record of batch) if (record.seq < endSeq) records.push(record);
    seq = batch[batch.length - 1]!.seq + 1;
  }
  return records;
}
