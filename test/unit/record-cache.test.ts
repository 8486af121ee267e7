import { describe, expect, it, vi } from "vitest";
import { RECORD_CACHE_BLOCK_RECORDS, RECORD_CACHE_IDLE_MS, RECORD_CACHE_MAX_BYTES, RECORD_CACHE_RECORD_OVERHEAD_BYTES } from "../../daemon/journal/limits.js";
import { RecordCache } from "../../daemon/journal/record-cache.js";
import type { JournalRecord } from "../../daemon/journal/types.js";
import { bytes, journalsPerTest } from "../helpers/journals.js";

const openJournals = journalsPerTest();

/** Records of one journal with `size` data bytes each, seq 1..count. */
function records(count: number, size: number): JournalRecord[] {
  return Array.from({ length: count }, (_, i) => ({ seq: i + 1, offset: i * size, createdAt: 0, meta: undefined, data: new Uint8Array(size) }));
}

/** A store of `all`, counting the reads that reach it. */
function store(all: JournalRecord[]): { reads: number; load: (fromSeq: number, max: number, maxBytes: number) => JournalRecord[] } {
  const s = {
    reads: 0,
    load: (fromSeq: number, max: number, maxBytes: number): JournalRecord[] => {
      s.reads++;
      const out: JournalRecord[] = [];
      let b = 0;
      for (const r of all.slice(fromSeq - 1, fromSeq - 1 + max)) {
        out.push(r);
        b += r.data.byteLength;
        if (b >= maxBytes) break;
      }
      return out;
    },
  };
  return s;
}

describe("the record cache", () => {
  it("serves readers near the tail one shared copy of the records", async () => {
    const o = openJournals();
    const appended = await o.journals.append("j", Array.from({ length: 600 }, (_, i) => ({ data: bytes(`r${i}`) })));
    expect(appended.lastSeq).toBe(600);
    const a = o.journals.page("j", 100, 50, 1 << 20);
    const b = o.journals.page("j", 100, 50, 1 << 20);
    expect(a.map((r) => new TextDecoder().decode(r.data))).toEqual(Array.from({ length: 50 }, (_, i) => `r${99 + i}`));
    // One shared copy: the same objects for every reader.
    expect(b.every((r, i) => r === a[i])).toBe(true);
    // A page crossing a block boundary continues in the next block.
    const across = o.journals.page("j", RECORD_CACHE_BLOCK_RECORDS - 1, 4, 1 << 20);
    expect(across.map((r) => r.seq)).toEqual([255, 256, 257, 258]);
  });

  it("keeps no record of a journal nobody follows: its first reader loads the block once, and the commits after extend it", () => {
    const all = records(600, 10);
    const committed: JournalRecord[] = [];
    const s = store(committed);
    const cache = new RecordCache();
    const commit = (count: number): void => {
      const next = all.slice(committed.length, committed.length + count);
      committed.push(...next);
      cache.add(1, next, false);
    };
    commit(100);
    expect(cache.heldBytes).toBe(0);
    expect(cache.page(1, 1, 10, 1 << 20, 1, s.load).map((r) => r.seq)).toEqual(Array.from({ length: 10 }, (_, i) => 1 + i));
    expect(s.reads).toBe(1);
    commit(100);
    const later = cache.page(1, 101, 100, 1 << 20, 1, s.load);
    expect(later.map((r) => r.seq)).toEqual(Array.from({ length: 100 }, (_, i) => 101 + i));
    expect(later[0]).toBe(all[100]);
    expect(s.reads).toBe(1);
    // Read now, the journal's commits start the next blocks themselves: nobody reads the store for them.
    commit(400);
    expect(cache.page(1, 257, 300, 1 << 20, 1, s.load).map((r) => r.seq)).toEqual(Array.from({ length: 300 }, (_, i) => 257 + i));
    expect(s.reads).toBe(1);
    // A journal read long ago is one nobody reads: its commits start no block.
    cache.expire(Date.now() + RECORD_CACHE_IDLE_MS + 1);
    expect(cache.heldBytes).toBe(0);
    const t = Date.now();
    vi.useFakeTimers({ toFake: ["Date"], now: t + RECORD_CACHE_IDLE_MS + 1 });
    try {
      const idle = records(1000, 10).slice(600);
      cache.add(1, idle, false);
      expect(cache.heldBytes).toBe(0);
      // Followed, it starts them again.
      cache.add(2, records(300, 10), true);
      expect(cache.heldBytes).toBeGreaterThan(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it("loads a block readers behind ask for once, and gives every one of them the same records", () => {
    const all = records(2000, 10);
    const s = store(all);
    const cache = new RecordCache();
    const first = cache.page(1, 300, 100, 1 << 20, 1, s.load);
    const second = cache.page(1, 310, 100, 1 << 20, 1, s.load);
    expect(first.map((r) => r.seq)).toEqual(Array.from({ length: 100 }, (_, i) => 300 + i));
    expect(second[0]).toBe(all[309]);
    expect(s.reads).toBe(1); // the block of 257-512, once, for both readers
  });

  it("drops the blocks nobody has used for a while, and keeps the ones in use", () => {
    const all = records(2000, 10);
    const s = store(all);
    const cache = new RecordCache();
    const t = Date.now();
    vi.useFakeTimers({ toFake: ["Date"], now: t });
    try {
      cache.page(1, 1, 10, 1 << 20, 1, s.load); // block 1-256, used at t
      vi.setSystemTime(t + RECORD_CACHE_IDLE_MS / 2);
      cache.page(1, 300, 10, 1 << 20, 1, s.load); // block 257-512, used later
      expect(s.reads).toBe(2);
      cache.expire(t + RECORD_CACHE_IDLE_MS + 1);
      // The first block went, the later one stayed: one more read, for the first only.
      cache.page(1, 300, 10, 1 << 20, 1, s.load);
      expect(s.reads).toBe(2);
      cache.page(1, 1, 10, 1 << 20, 1, s.load);
      expect(s.reads).toBe(3);
      // Everything idle: nothing held.
      cache.expire(Date.now() + RECORD_CACHE_IDLE_MS + 1);
      expect(cache.heldBytes).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it("keeps no block of large records: their readers read the store", () => {
    const all = records(10, 512 * 1024);
    const s = store(all);
    const cache = new RecordCache();
    expect(cache.page(1, 1, 4, 1 << 20, 1, s.load).map((r) => r.seq)).toEqual([1, 2]);
    expect(s.reads).toBe(2); // the block, found too large, then the page itself
    // The block is remembered as too large: each later page is one read, not two.
    expect(cache.page(1, 3, 4, 1 << 20, 1, s.load).map((r) => r.seq)).toEqual([3, 4]);
    expect(cache.page(1, 5, 4, 1 << 20, 1, s.load).map((r) => r.seq)).toEqual([5, 6]);
    expect(s.reads).toBe(4);
    // It holds no record: only the mark that the block is too large.
    expect(cache.heldBytes).toBeLessThanOrEqual(RECORD_CACHE_RECORD_OVERHEAD_BYTES);
    // Committed, they leave the same mark for journal 2's block, and no record either.
    cache.add(2, all, true);
    expect(cache.unkept(2, 1)).toBe(true);
    expect(cache.heldBytes).toBeLessThanOrEqual(2 * RECORD_CACHE_RECORD_OVERHEAD_BYTES);
  });

  it("a block found too large stays so while commits add to it: a reader behind a flood's tail reads the store off the daemon's thread", () => {
    const all = records(12, 512 * 1024);
    const s = store(all);
    const cache = new RecordCache();
    cache.add(1, all.slice(0, 4), true);
    // The commit that made it too large left the mark: no reader loads the block to find that out.
    expect(cache.unkept(1, 1)).toBe(true);
    expect(cache.page(1, 3, 2, 1 << 20, 1, s.load).map((r) => r.seq)).toEqual([3, 4]);
    expect(s.reads).toBe(1);
    expect(cache.unkept(1, 3)).toBe(true);
    // The flood goes on: its commits land in the same block.
    cache.add(1, all.slice(4, 8), true);
    cache.add(1, all.slice(8, 12), true);
    expect(cache.unkept(1, 9)).toBe(true);
  });

  it("marks a block whose first records retention dropped, without reading it: its readers read the store once a page", () => {
    const all = records(600, 10);
    const s = store(all);
    const cache = new RecordCache();
    // Retention kept 290 on: the block of 257-512 can never be whole again.
    expect(cache.page(1, 300, 10, 1 << 20, 290, s.load).map((r) => r.seq)).toEqual(Array.from({ length: 10 }, (_, i) => 300 + i));
    expect(s.reads).toBe(1); // the page itself, not the block first
    expect(cache.unkept(1, 300)).toBe(true);
    cache.page(1, 310, 10, 1 << 20, 290, s.load);
    expect(s.reads).toBe(2);
    // The next block, whole in the store, is kept as ever.
    cache.page(1, 513, 10, 1 << 20, 290, s.load);
    cache.page(1, 523, 10, 1 << 20, 290, s.load);
    expect(s.reads).toBe(3);
    expect(cache.unkept(1, 513)).toBe(false);
  });

  it("stays within its bound however much is committed, and still answers from the store", () => {
    const all = records(200_000, 300);
    const cache = new RecordCache();
    for (let i = 0; i < all.length; i += 1000) cache.add(1, all.slice(i, i + 1000), true);
    expect(cache.heldBytes).toBeLessThanOrEqual(RECORD_CACHE_MAX_BYTES);
    expect(cache.heldBytes).toBeGreaterThan(RECORD_CACHE_MAX_BYTES / 2);
    const s = store(all);
    expect(cache.page(1, 5, 3, 1 << 20, 1, s.load).map((r) => r.seq)).toEqual([5, 6, 7]);
    expect(s.reads).toBe(1);
  });

  it("drops a block with a gap (retention took part of a commit), so no reader is served around it", () => {
    const all = records(20, 10);
    const cache = new RecordCache();
    cache.add(1, all.slice(0, 5), true);
    cache.add(1, all.slice(7, 20), true);
    const s = store(all);
    expect(cache.page(1, 5, 4, 1 << 20, 1, s.load).map((r) => r.seq)).toEqual([5, 6, 7, 8]);
    expect(s.reads).toBe(1);
  });
});
