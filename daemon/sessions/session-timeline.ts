import type { Journals } from "../journal/journals.js";
import type { JournalRecord } from "../journal/types.js";
import { positionOf } from "./session-order.js";

/** Records one merge step reads from a journal at a time: bounds a reader's memory per journal. */
const PAGE_RECORDS = 256;
const PAGE_BYTES = 256 * 1024;
/** One batch handed to the reader holds at most this many items, or this many data bytes. */
const BATCH_ITEMS = 1024;
const BATCH_BYTES = 1024 * 1024;

/** A journal of the session and how its records become timeline items (the record at its position). */
export interface TimelineSource<T> {
  readonly journal: string;
  readonly item: (record: JournalRecord, position: number) => TimelineItem<T>;
}

/** A page of one journal's ordered records, consumed from `head`. */
interface Page {
  records: JournalRecord[];
  positions: number[];
  head: number;
}

export interface TimelineItem<T> {
  readonly position: number;
  readonly item: T;
}

/** Consecutive items; `caughtUp` when the last was the last stored when they were read. */
export interface TimelineBatch<T> {
  readonly items: TimelineItem<T>[];
  readonly caughtUp: boolean;
}

/** The live session a follower waits on; absent for a session that has ended. */
export interface TimelineLive {
  /** True once the session has ended and its last change is durable. */
  readonly retired: boolean;
  /** Resolves on the next commit, at retirement, or when the signal aborts. */
  waitChange(signal: AbortSignal): Promise<void>;
}

/**
 * Reads a session's journals merged into its one order (positions, see
 * SessionOrder), from `fromPosition`, and with a live session keeps reading
 * until it has ended. Every reader reads the store, one page per journal at
 * a time: a reader that stops reading holds no more than that, and the
 * writers never wait for it.
 */
export async function* readTimeline<T>(
  journals: Journals,
  sources: readonly TimelineSource<T>[],
  fromPosition: number,
  live: TimelineLive | undefined,
  signal: AbortSignal,
): AsyncGenerator<TimelineBatch<T>> {
  const cursors = sources.map((s) => seek(journals, s.journal, fromPosition));
  const pages: Page[] = sources.map(() => ({ records: [], positions: [], head: 0 }));
  for (;;) {
    signal.throwIfAborted();
    // Everything stored now is a prefix of the order; checked before reading, so nothing committed after is missed.
    const ended = live === undefined || live.retired;
    const batch: TimelineItem<T>[] = [];
    let bytes = 0;
    let caughtUp = false;
    const exhausted = sources.map(() => false);
    for (;;) {
      let next = -1;
      let nextPosition = Infinity;
      for (let i = 0; i < sources.length; i++) {
        const page = pages[i]!;
        while (page.head === page.records.length && !exhausted[i]) {
          // Output a capped log dropped (max_output) before this reader got to it: it reads on from what is kept, as docker logs -f past a rotation.
          const records = journals.page(sources[i]!.journal, cursors[i]!, PAGE_RECORDS, PAGE_BYTES, true);
          if (records.length === 0) exhausted[i] = true;
          else {
            cursors[i] = records[records.length - 1]!.seq + 1;
            loadPage(page, records);
          }
        }
        if (page.head < page.records.length && page.positions[page.head]! < nextPosition) {
          next = i;
          nextPosition = page.positions[page.head]!;
        }
      }
      if (next < 0) {
        caughtUp = true;
        break;
      }
      const page = pages[next]!;
      const record = page.records[page.head++]!;
      batch.push(sources[next]!.item(record, nextPosition));
      bytes += record.data.byteLength;
      if (batch.length >= BATCH_ITEMS || bytes >= BATCH_BYTES) break;
    }
    if (batch.length > 0) {
      yield { items: batch, caughtUp };
      continue;
    }
    if (ended) return;
    await live!.waitChange(signal);
  }
}

/** Fills a consumed page with `records`, less any without a position (not part of the order). */
function loadPage(page: Page, records: JournalRecord[]): void {
  const positions = records.map(positionOf);
  const ordered = positions.every((p) => p !== undefined);
  page.records = ordered ? records : records.filter((_, k) => positions[k] !== undefined);
  page.positions = (ordered ? positions : positions.filter((p) => p !== undefined)) as number[];
  page.head = 0;
}

/** The first sequence of a journal whose record's position is at least `position` (binary search: positions grow with sequence). */
function seek(journals: Journals, journal: string, position: number): number {
  let info;
  try {
    info = journals.get(journal);
  } catch {
    return 1;
  }
  let lo = info.firstSeq;
  let hi = info.nextSeq;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    const record = journals.page(journal, mid, 1, 1)[0];
    const p = record === undefined ? undefined : positionOf(record);
    if (p !== undefined && p >= position) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
