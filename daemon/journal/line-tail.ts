import { setImmediate as nextTurn } from "node:timers/promises";
import { invalidArgument } from "../errors.js";
import type { Journals } from "./journals.js";
import { READ_BATCH_MAX_BYTES, READ_BATCH_MAX_RECORDS, TAIL_SCAN_MAX_BYTES } from "./limits.js";
import type { JournalRecord } from "./types.js";

const NEWLINE = 0x0a;

/**
 * Where a read of a byte log asked for by offset or by tail starts:
 * `fromOffset`, or where its last `tailLines` lines start (lineTailOffset,
 * `keep` as there). Both at once is refused.
 */
export function readStart(journals: Journals, name: string, fromOffset: number, tailLines: number | undefined, keep?: (record: JournalRecord) => boolean): Promise<number> {
  if (tailLines === undefined) return Promise.resolve(fromOffset);
  if (fromOffset !== 0) throw invalidArgument("tail_lines", "from_offset and tail_lines cannot be used together: start at a byte offset or at the last lines, not both");
  return lineTailOffset(journals, name, tailLines, keep);
}

/**
 * Where the last `lines` lines of a byte log start, as `tail -n` counts them
 * (a last line without its newline is a line; the newline ending the log
 * starts none): the offset to read from, with `keep` the filter the read
 * applies (the bytes of records it drops are not counted). Fewer lines than
 * that: the log's first retained byte; 0 lines: its end. Looks back at most
 * `maxScanBytes`, then starts at the earliest line start it found (or where
 * it stopped). The log is read backwards a page of about
 * READ_BATCH_MAX_BYTES at a time (fewer near the limit), a turn of the event loop between pages,
 * so a long scan holds up no other call.
 */
export async function lineTailOffset(
  journals: Journals,
  name: string,
  lines: number,
  keep: (record: JournalRecord) => boolean = () => true,
  maxScanBytes = TAIL_SCAN_MAX_BYTES,
): Promise<number> {
  if (journals.endOf(name) === 0) return 0;
  const end = journals.get(name);
  if (lines === 0) return end.nextOffset;
  let found = 0;
  let start: number | undefined;
  // The last kept byte may be the newline ending the log: it ends the last line and starts none.
  let atEnd = true;
  let scanned = 0;
  let endSeq = end.nextSeq;
  // Records per page, from the sizes seen: a page stays near READ_BATCH_MAX_BYTES however large the records.
  let window = 1;
  for (;;) {
    const { firstSeq, firstOffset } = journals.get(name);
    if (endSeq <= firstSeq) return firstOffset;
    const page = recordsBefore(journals, name, Math.max(firstSeq, endSeq - window), endSeq);
    if (page.length === 0) return firstOffset;
    let pageBytes = 0;
    for (let r = page.length - 1; r >= 0; r--) {
      const record = page[r]!;
      pageBytes += record.data.byteLength;
      if (!keep(record) || record.data.byteLength === 0) continue;
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
    }
    scanned += pageBytes;
    if (scanned >= maxScanBytes) return start ?? page[0]!.offset;
    endSeq = page[0]!.seq;
    const wanted = Math.min(READ_BATCH_MAX_BYTES, maxScanBytes - scanned);
    window = Math.max(1, Math.min(READ_BATCH_MAX_RECORDS, Math.floor((wanted * page.length) / Math.max(1, pageBytes))));
    await nextTurn();
  }
}

/** The records from `fromSeq` up to (not including) `endSeq`, read forward a batch at a time. */
function recordsBefore(journals: Journals, name: string, fromSeq: number, endSeq: number): JournalRecord[] {
  const records: JournalRecord[] = [];
  for (let seq = fromSeq; seq < endSeq; ) {
    const batch = journals.page(name, seq, endSeq - seq, READ_BATCH_MAX_BYTES);
    if (batch.length === 0) break;
    for (const record of batch) if (record.seq < endSeq) records.push(record);
    seq = batch[batch.length - 1]!.seq + 1;
  }
  return records;
}
