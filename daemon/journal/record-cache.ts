import { RECORD_CACHE_BLOCK_MAX_BYTES, RECORD_CACHE_BLOCK_RECORDS, RECORD_CACHE_IDLE_MS, RECORD_CACHE_MAX_BYTES, RECORD_CACHE_RECORD_OVERHEAD_BYTES } from "./limits.js";
import type { JournalRecord } from "./types.js";

/**
 * RECORD_CACHE_BLOCK_RECORDS consecutive records of a journal, from the
 * block's first sequence on (the last block may be partly filled); or, with
 * `unkept`, the mark of a block that cannot be kept (its records too large,
 * or its first ones no longer retained), holding nothing, so its readers go
 * to the store at once instead of loading it again.
 */
interface Block {
  readonly records: JournalRecord[];
  bytes: number;
  readonly unkept?: true;
  /** When a commit or a reader last used it (Date.now()). */
  usedAt: number;
}

/** Reads records from the store: from `fromSeq`, at most `maxRecords`, until `maxBytes` (at least one). */
type Load = (fromSeq: number, maxRecords: number, maxBytes: number) => JournalRecord[];

const cost = (record: JournalRecord): number => record.data.byteLength + RECORD_CACHE_RECORD_OVERHEAD_BYTES;
const blockOf = (seq: number): number => Math.floor((seq - 1) / RECORD_CACHE_BLOCK_RECORDS);
const firstSeqOf = (block: number): number => block * RECORD_CACHE_BLOCK_RECORDS + 1;
const fits = (block: Block, record: JournalRecord): boolean => block.bytes + cost(record) <= RECORD_CACHE_BLOCK_MAX_BYTES;
const unkeptMark = (): Block => ({ records: [], bytes: RECORD_CACHE_RECORD_OVERHEAD_BYTES, unkept: true, usedAt: 0 });
const push = (block: Block, record: JournalRecord): void => {
  block.records.push(record);
  block.bytes += cost(record);
};

/**
 * Recently committed and recently read records, in blocks aligned on
 * sequence numbers, shared by every reader. A hundred clients attached to
 * one session read the same records: near the live tail they find the
 * blocks the commits filled, and readers further behind load each block
 * from the store once between them (the blocks are aligned, so readers at
 * different positions still ask for the same ones). One shared copy of a
 * record means one decoding too (SessionReads keys its decoded items on
 * the record). Bounded in total, least recently used blocks go first;
 * blocks of large records (over RECORD_CACHE_BLOCK_MAX_BYTES) are not kept:
 * their readers are bound by bytes, not by records, and read the store; nor
 * are blocks whose first records retention dropped (a terminal's output
 * past its 64 MiB).
 * Blocks nobody has used for RECORD_CACHE_IDLE_MS go too (`expire`): a
 * finished session's records are not kept on the heap for good.
 */
export class RecordCache {
  /** By `${journalId}:${block}`, least recently used first (a Map keeps insertion order). */
  private readonly blocks = new Map<string, Block>();
  private bytes = 0;
  /** When each journal was last paged (Date.now()): its commits start blocks for RECORD_CACHE_IDLE_MS after. */
  private readonly pagedAt = new Map<number, number>();

  /**
   * Records just committed to a journal: they extend its cached blocks, and
   * start new ones when the journal is read: `followed` (a follower waits
   * for its records), or paged in the last RECORD_CACHE_IDLE_MS (an
   * attached client reads it). A journal nobody reads (a run's output with
   * no client attached) keeps no block: held for a while, each such record
   * outlived the young generation, and the collector's copying and promoting
   * them was ~15% of the time of a flood of small appends (measured here:
   * 580k against 670k appends/s). A reader that comes loads the block it
   * needs once, and the commits after extend it and start the next ones.
   */
  add(journalId: number, records: readonly JournalRecord[], followed: boolean): void {
    const read = followed || (this.pagedAt.get(journalId) ?? -Infinity) >= Date.now() - RECORD_CACHE_IDLE_MS;
    let index = -1;
    let key = "";
    let block: Block | undefined;
    for (const record of records) {
      // A commit's records are consecutive: the key changes once per block, not per record.
      if (blockOf(record.seq) !== index) {
        index = blockOf(record.seq);
        key = `${journalId}:${index}`;
        block = this.blocks.get(key);
        if (block === undefined && read && record.seq === firstSeqOf(index)) block = { records: [], bytes: 0, usedAt: 0 };
        if (block !== undefined) this.touch(key, block);
      }
      // A block that cannot be kept stays so as it grows: its readers read the store off the daemon's
      // thread (Journals.storedLarge). Dropped here by each commit, it had a terminal's client that fell
      // behind a flood load it again on the thread, twice a page: the daemon's thread blocked in reads
      // ~0.45 s per 200 MB `cat` (profiled), during which no other client was served.
      if (block === undefined || block.unkept === true) continue;
      // A gap (retention dropped part of a commit): the block goes.
      if (block.records.length !== record.seq - firstSeqOf(index)) {
        this.drop(key);
        block = undefined;
        continue;
      }
      // Grown too large: its mark replaces it, so no reader behind loads it to find that out.
      if (!fits(block, record)) {
        this.drop(key);
        block = unkeptMark();
        this.keep(key, block);
        continue;
      }
      push(block, record);
      this.bytes += cost(record);
    }
    this.evict();
  }

  /**
   * Records from `fromSeq` on (a committed sequence, at least `retainedFrom`,
   * the journal's first retained one), up to the limits (at least one): from
   * cached blocks, loading a missing block with `load(firstSeq, maxRecords,
   * maxBytes)` from the store, or reading the store directly where a block
   * cannot be kept.
   */
  page(journalId: number, fromSeq: number, maxRecords: number, maxBytes: number, retainedFrom: number, load: Load): JournalRecord[] {
    this.pagedAt.set(journalId, Date.now());
    const out: JournalRecord[] = [];
    let bytes = 0;
    let seq = fromSeq;
    while (out.length < maxRecords && (out.length === 0 || bytes < maxBytes)) {
      const index = blockOf(seq);
      const key = `${journalId}:${index}`;
      const block = this.blocks.get(key) ?? this.loadBlock(key, index, retainedFrom, load);
      const start = seq - firstSeqOf(index);
      if (block === undefined || block.unkept === true || start >= block.records.length) break;
      this.touch(key, block);
      for (let i = start; i < block.records.length && out.length < maxRecords && (out.length === 0 || bytes < maxBytes); i++) {
        out.push(block.records[i]!);
        bytes += block.records[i]!.data.byteLength;
      }
      seq = out.at(-1)!.seq + 1;
    }
    return out.length > 0 ? out : load(fromSeq, maxRecords, maxBytes);
  }

  /** Whether the block holding `seq` was found to be one that cannot be kept: its readers go to the store. */
  unkept(journalId: number, seq: number): boolean {
    return this.blocks.get(`${journalId}:${blockOf(seq)}`)?.unkept === true;
  }

  /** Drops the blocks nobody has used since `now - RECORD_CACHE_IDLE_MS`. */
  expire(now: number): void {
    for (const [journalId, at] of this.pagedAt) if (at < now - RECORD_CACHE_IDLE_MS) this.pagedAt.delete(journalId);
    // Least recently used first: the first block used since then ends it.
    for (const [key, block] of this.blocks) {
      if (block.usedAt >= now - RECORD_CACHE_IDLE_MS) return;
      this.drop(key);
    }
  }

  /** Whether it holds nothing (no block, no journal read lately): expire has nothing to do. */
  get empty(): boolean {
    return this.blocks.size === 0 && this.pagedAt.size === 0;
  }

  /** Bytes held (data plus the per-record estimate): at most RECORD_CACHE_MAX_BYTES between calls. */
  get heldBytes(): number {
    return this.bytes;
  }

  /**
   * Reads a whole block from the store and keeps it; or, where it cannot be
   * kept (large records, or its start no longer retained: retention only moves
   * on), keeps the mark of that. Unmarked, a block whose start retention had
   * dropped was read twice a page on the daemon's thread for as long as a
   * terminal's client behind a flood read in it (counted: ~80 reads of ~1.5 MB
   * per 200 MB `cat`).
   */
  private loadBlock(key: string, index: number, retainedFrom: number, load: Load): Block | undefined {
    if (firstSeqOf(index) < retainedFrom) {
      this.keep(key, unkeptMark());
      return undefined;
    }
    const loaded = load(firstSeqOf(index), RECORD_CACHE_BLOCK_RECORDS, RECORD_CACHE_BLOCK_MAX_BYTES);
    if (loaded[0]?.seq !== firstSeqOf(index)) return undefined;
    const block: Block = { records: [], bytes: 0, usedAt: 0 };
    for (const record of loaded) {
      if (!fits(block, record)) {
        this.keep(key, unkeptMark());
        return undefined;
      }
      push(block, record);
    }
    this.keep(key, block);
    return block;
  }

  private keep(key: string, block: Block): void {
    block.usedAt = Date.now();
    this.blocks.set(key, block);
    this.bytes += block.bytes;
    this.evict();
  }

  private touch(key: string, block: Block): void {
    block.usedAt = Date.now();
    this.blocks.delete(key);
    this.blocks.set(key, block);
  }

  private drop(key: string): void {
    const block = this.blocks.get(key);
    if (block === undefined) return;
    this.bytes -= block.bytes;
    this.blocks.delete(key);
  }

  private evict(): void {
    for (const key of this.blocks.keys()) {
      if (this.bytes <= RECORD_CACHE_MAX_BYTES) return;
      this.drop(key);
    }
  }
}
