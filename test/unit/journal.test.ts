import { Code } from "@connectrpc/connect";
import { setMaxListeners } from "node:events";
import { existsSync, readdirSync, statSync, truncateSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { TetherError } from "../../daemon/errors.js";
import { DATA_SEGMENT_BYTES, READER_QUEUE_MAX_BYTES } from "../../daemon/journal/limits.js";
import { Journals } from "../../daemon/journal/journals.js";
import type { ReadBatch } from "../../daemon/journal/types.js";
import { openDatabase } from "../../daemon/store/database.js";
import { assertDense, bytes, collect, journalsPerTest } from "../helpers/journals.js";

const openJournals = journalsPerTest();
function journals(): Journals {
  return openJournals().journals;
}
const never = new AbortController().signal;
// Shared by every reader of a test, some dozens following at once: each waiting reader listens on it.
setMaxListeners(100, never);

async function refusal(promise: Promise<unknown>): Promise<TetherError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof TetherError)) throw new Error(`expected a TetherError, got ${String(error)}`);
  return error;
}

describe("appends", () => {
  it("gives dense sequences and contiguous offsets across concurrent producers", async () => {
    const j = journals();
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => j.append("a", [{ data: bytes(`p${i}-0`) }, { data: bytes(`p${i}-1x`) }])),
    );
    const firsts = results.map((r) => r.firstSeq).sort((a, b) => a - b);
    expect(firsts).toEqual(Array.from({ length: 200 }, (_, i) => 1 + 2 * i));
    const records = await collect(j.read("a", { cursor: { kind: "start" }, follow: false, signal: never }));
    expect(records).toHaveLength(400);
    assertDense(records);
    expect(j.get("a").nextOffset).toBe(records.reduce((n, r) => n + r.data.byteLength, 0));
  });

  it("keeps metadata with the record", async () => {
    const j = journals();
    await j.append("m", [{ data: bytes("x"), meta: { content_type: "application/json" } }]);
    const [record] = await collect(j.read("m", { cursor: { kind: "start" }, follow: false, signal: never }));
    expect(record?.meta).toEqual({ content_type: "application/json" });
  });

  it("stores every record of a large batch across journals as it was given, read back after a reopen", async () => {
    const o = openJournals();
    // 75 records per journal in one commit: rows go in by 64, by 8 and one at a time.
    const record = (journal: string, i: number) => ({ data: bytes(`${journal}-${i}-${"x".repeat(i)}`), ...(i % 3 === 0 ? { meta: { i: String(i) } } : {}) });
    const names = ["b1", "b2", "b3"];
    await Promise.all(names.flatMap((name) => Array.from({ length: 75 }, (_, i) => o.journals.append(name, [record(name, i)]))));
    o.journals.close();
    o.db.close();
    const db = openDatabase(o.path);
    const again = new Journals(db, join(dirname(o.path), "output"));
    try {
      for (const name of names) {
        const read = await collect(again.read(name, { cursor: { kind: "start" }, follow: false, signal: never }));
        assertDense(read);
        expect(read.map((r) => ({ seq: r.seq, text: Buffer.from(r.data).toString(), meta: r.meta }))).toEqual(
          Array.from({ length: 75 }, (_, i) => ({ seq: i + 1, text: `${name}-${i}-${"x".repeat(i)}`, meta: i % 3 === 0 ? { i: String(i) } : undefined })),
        );
      }
    } finally {
      again.close();
      db.close();
    }
  });

  it("stores the records of journals whose ids put their keys past 2^53 (bound as 64-bit integers), each in its own key range", async () => {
    const o = openJournals();
    // The next journal's id follows the largest: 2^22, so its keys (id << 32 | seq) are near 2^54.
    o.db.prepare("INSERT INTO journals (id, name, first_seq, next_seq, first_offset, next_offset, max_bytes, max_age_ms, created_at) VALUES (?, 'filler', 1, 1, 0, 0, 0, 0, 0)").run(2 ** 22 - 1);
    await o.journals.append("low", [{ data: bytes("before") }]);
    await Promise.all(Array.from({ length: 70 }, (_, i) => o.journals.append("high", [{ data: bytes(`h${i}`), ...(i % 2 === 0 ? { meta: { i: String(i) } } : {}) }])));
    const read = await collect(o.journals.read("high", { cursor: { kind: "start" }, follow: false, signal: never }));
    assertDense(read);
    expect(read.map((r) => [Buffer.from(r.data).toString(), r.meta?.["i"]])).toEqual(Array.from({ length: 70 }, (_, i) => [`h${i}`, i % 2 === 0 ? String(i) : undefined]));
    const keys = o.db.prepare("SELECT key >> 32 AS id, key & 4294967295 AS seq FROM journal_records ORDER BY key").safeIntegers(true).all() as { id: bigint; seq: bigint }[];
    expect(keys.at(-1)).toEqual({ id: BigInt(2 ** 22 + 1), seq: 70n });
    expect(await collect(o.journals.read("low", { cursor: { kind: "start" }, follow: false, signal: never }))).toHaveLength(1);
  });

  it("refuses bad names, empty appends and oversized records with the limit", async () => {
    const j = journals();
    expect(() => j.append("no/slash", [{ data: bytes("x") }])).toThrow(/invalid journal id/);
    expect(() => j.append("ok", [])).toThrow(/at least one record/);
    const big = (() => {
      try {
        j.append("ok", [{ data: new Uint8Array(4 * 1024 * 1024 + 1) }]);
      } catch (e) {
        return e as TetherError;
      }
      throw new Error("accepted an oversized record");
    })();
    expect(big.reason).toBe("RECORD_TOO_LARGE");
    expect(big.metadata.limit_bytes).toBe(String(4 * 1024 * 1024));
  });
});

describe("durability", () => {
  const FULL = 2;
  const NORMAL = 1;

  it("fsyncs every commit except one holding only process output, and a commit with both fsyncs", async () => {
    const o = openJournals();
    // alongside runs inside the append's transaction: it sees the level that commit uses.
    const levels: Record<string, number> = {};
    const note = (name: string) => (): void => void (levels[name] = o.db.pragma("synchronous", { simple: true }) as number);
    await o.journals.append("a", [{ data: bytes("ack") }], { alongside: note("acknowledged") });
    await o.journals.append("o", [{ data: bytes("out") }], { alongside: note("output"), durability: "daemon-crash" });
    await Promise.all([
      o.journals.append("o", [{ data: bytes("out2") }], { alongside: note("mixed output"), durability: "daemon-crash" }),
      o.journals.append("a", [{ data: bytes("ack2") }], { alongside: note("mixed acknowledged") }),
    ]);
    expect(levels).toEqual({ acknowledged: FULL, output: NORMAL, "mixed output": FULL, "mixed acknowledged": FULL });
    // Every later commit, even one made straight on the database, fsyncs again.
    expect(o.db.pragma("synchronous", { simple: true })).toBe(FULL);
  });

  it("stores rows without a record in the next commit, in order with the appends around it, as durably as asked", async () => {
    const o = openJournals();
    o.db.exec("CREATE TABLE notes (n INTEGER PRIMARY KEY AUTOINCREMENT, what TEXT, level INTEGER)");
    const insert = o.db.prepare("INSERT INTO notes (what, level) VALUES (?, ?)");
    const note = (what: string) => (): void => void insert.run(what, o.db.pragma("synchronous", { simple: true }) as number);
    const [, stored] = await Promise.all([
      o.journals.append("o", [{ data: bytes("out") }], { alongside: note("before"), durability: "daemon-crash" }),
      o.journals.store(note("stored"), "daemon-crash"),
      o.journals.append("o", [{ data: bytes("out2") }], { alongside: note("after"), durability: "daemon-crash" }),
    ]);
    expect(stored).toBeUndefined();
    await o.journals.store(note("acknowledged"), "power-loss");
    expect(o.db.prepare("SELECT what, level FROM notes ORDER BY n").all()).toEqual([
      { what: "before", level: NORMAL },
      { what: "stored", level: NORMAL },
      { what: "after", level: NORMAL },
      { what: "acknowledged", level: FULL },
    ]);
    // A store touches no journal.
    expect(o.journals.get("o").nextSeq).toBe(3);
  });
});

describe("byte-log records (data files)", () => {
  /** A record of `size` bytes whose every byte says where it is: byte at journal offset X is X mod 251. */
  const patterned = (offset: number, size: number): Uint8Array => {
    const data = new Uint8Array(size);
    for (let i = 0; i < size; i++) data[i] = (offset + i) % 251;
    return data;
  };
  const wholeBytes = (records: readonly { data: Uint8Array }[]): Buffer => Buffer.concat(records.map((r) => r.data));

  it("keeps their bytes out of the database, reads them back across segment boundaries, beside ordinary records and after a reopen", async () => {
    const o = openJournals();
    const MiB = 1024 * 1024;
    const sizes = [1, 4096, 3 * MiB, 4 * MiB, 4 * MiB, 4 * MiB, 4 * MiB, 7, 2 * MiB];
    let offset = 0;
    for (const size of sizes) {
      await o.journals.append("out", [{ data: patterned(offset, size), meta: { s: "1" } }], { durability: "daemon-crash", dataInFiles: true });
      offset += size;
    }
    // An ordinary record in the same journal, then byte-log records again.
    await o.journals.append("out", [{ data: patterned(offset, 10) }]);
    offset += 10;
    await o.journals.append("out", [{ data: patterned(offset, 100) }, { data: patterned(offset + 100, 50) }], { dataInFiles: true });
    offset += 150;
    const expected = Buffer.from(patterned(0, offset));

    const read = await collect(o.journals.read("out", { cursor: { kind: "start" }, follow: false, signal: never }));
    assertDense(read);
    expect(read[0]?.meta).toEqual({ s: "1" });
    expect(wholeBytes(read).equals(expected)).toBe(true);
    const fromOffset = await collect(o.journals.read("out", { cursor: { kind: "offset", offset: DATA_SEGMENT_BYTES + 5 }, follow: false, signal: never }));
    expect(wholeBytes(fromOffset).equals(expected.subarray(DATA_SEGMENT_BYTES + 5))).toBe(true);

    const dir = dirname(o.path);
    const stored = statSync(o.path).size + (existsSync(`${o.path}-wal`) ? statSync(`${o.path}-wal`).size : 0);
    expect(stored).toBeLessThan(2 * 1024 * 1024);
    expect(readdirSync(join(dir, "output")).length).toBe(2);

    // A second daemon on the same state (the first one gone) reads the same bytes.
    o.journals.close();
    o.db.close();
    const db = openDatabase(o.path);
    const again = new Journals(db, join(dir, "output"));
    try {
      const reread = await collect(again.read("out", { cursor: { kind: "start" }, follow: false, signal: never }));
      expect(wholeBytes(reread).equals(expected)).toBe(true);
    } finally {
      again.close();
      db.close();
    }
  });

  it("bytes lost outside tether (a file cut short) read as DataLoss naming the file, not as other bytes", async () => {
    const o = openJournals();
    await o.journals.append("cut", [{ data: patterned(0, 1000) }], { durability: "daemon-crash", dataInFiles: true });
    truncateSync(join(dirname(o.path), "output", "1.0"), 600);
    // A daemon started afterwards (this one still holds the record in memory) reads the store.
    o.journals.close();
    const again = new Journals(o.db, join(dirname(o.path), "output"));
    const e = await refusal(collect(again.read("cut", { cursor: { kind: "start" }, follow: false, signal: never })));
    again.close();
    expect(e.code).toBe(Code.DataLoss);
    expect(e.message).toContain("output at byte 600 is missing");
    expect(e.metadata.path).toBe(join(dirname(o.path), "output", "1.0"));
  });

  it("retention by bytes deletes the segments that hold only dropped bytes", async () => {
    const o = openJournals();
    o.journals.create("pty", { maxBytes: DATA_SEGMENT_BYTES, maxAgeMs: 0 });
    const chunk = 1024 * 1024;
    for (let offset = 0; offset < 3 * DATA_SEGMENT_BYTES + chunk; offset += chunk) {
      await o.journals.append("pty", [{ data: patterned(offset, chunk) }], { durability: "daemon-crash", dataInFiles: true });
    }
    const info = o.journals.get("pty");
    expect(info.nextOffset - info.firstOffset).toBe(DATA_SEGMENT_BYTES);
    // The kept bytes start in segment 2 and end in segment 3: 0 and 1 are gone (deleted on the thread pool).
    await vi.waitFor(() => expect(readdirSync(join(dirname(o.path), "output")).sort()).toEqual(["1.2", "1.3"]));
    const kept = await collect(o.journals.read("pty", { cursor: { kind: "start" }, follow: false, signal: never }));
    expect(wholeBytes(kept).equals(Buffer.from(patterned(info.firstOffset, DATA_SEGMENT_BYTES)))).toBe(true);
  });
});

describe("cursors", () => {
  it("reads from a sequence and from a byte offset inside a record", async () => {
    const j = journals();
    await j.append("c", [{ data: bytes("hello") }, { data: bytes("world") }, { data: bytes("!") }]);
    const fromSeq = await collect(j.read("c", { cursor: { kind: "sequence", seq: 2 }, follow: false, signal: never }));
    expect(fromSeq.map((r) => r.seq)).toEqual([2, 3]);
    const fromOffset = await collect(j.read("c", { cursor: { kind: "offset", offset: 7 }, follow: false, signal: never }));
    expect(fromOffset.map((r) => Buffer.from(r.data).toString()).join("")).toBe("rld!");
    expect(fromOffset[0]?.offset).toBe(7);
  });

  it("refuses a cursor past the end, naming where the end is", async () => {
    const j = journals();
    await j.append("c", [{ data: bytes("abc") }]);
    const e = await refusal(collect(j.read("c", { cursor: { kind: "sequence", seq: 5 }, follow: false, signal: never })));
    expect(e.code).toBe(Code.OutOfRange);
    expect(e.reason).toBe("CURSOR_PAST_END");
    expect(e.metadata.next_sequence).toBe("2");
  });

  it("a missing journal is NotFound, unless the follower asked to wait for it", async () => {
    const j = journals();
    const e = await refusal(collect(j.read("later", { cursor: { kind: "start" }, follow: false, signal: never })));
    expect(e.reason).toBe("JOURNAL_NOT_FOUND");
    const waiting = collect(j.read("later", { cursor: { kind: "start" }, follow: true, waitForJournal: true, signal: never }), 1);
    await new Promise((r) => setTimeout(r, 20));
    await j.append("later", [{ data: bytes("first") }]);
    expect((await waiting).map((r) => r.seq)).toEqual([1]);
  });
});

describe("retention", () => {
  it("by bytes: drops whole records oldest first; an expired cursor names the earliest one", async () => {
    const j = journals();
    j.create("r", { maxBytes: 100, maxAgeMs: 0 });
    for (let i = 0; i < 10; i++) await j.append("r", [{ data: new Uint8Array(30).fill(i) }]);
    const info = j.get("r");
    expect(info.nextSeq).toBe(11);
    expect(info.firstSeq).toBe(8);
    expect(info.nextOffset - info.firstOffset).toBeLessThanOrEqual(100);
    const e = await refusal(collect(j.read("r", { cursor: { kind: "sequence", seq: 1 }, follow: false, signal: never })));
    expect(e.reason).toBe("CURSOR_EXPIRED");
    expect(e.metadata.earliest_sequence).toBe("8");
    expect(e.message).toContain("earliest available is sequence 8");
    const kept = await collect(j.read("r", { cursor: { kind: "start" }, follow: false, signal: never }));
    expect(kept.map((r) => r.seq)).toEqual([8, 9, 10]);
  });

  it("by age: the sweep drops records older than the max age, and sequences go on", async () => {
    const j = journals();
    j.create("old", { maxBytes: 0, maxAgeMs: 60_000 });
    await j.append("old", [{ data: bytes("a") }, { data: bytes("b") }]);
    j.applyAgeRetention(Date.now());
    expect(j.get("old").firstSeq).toBe(1);
    j.applyAgeRetention(Date.now() + 61_000);
    expect(j.get("old").firstSeq).toBe(3);
    const r = await j.append("old", [{ data: bytes("c") }]);
    expect(r.firstSeq).toBe(3);
  });
});

describe("following", () => {
  it("joins backlog and live with no gap or repeat while a writer keeps appending", async () => {
    const j = journals();
    const total = 3000;
    j.create("live");
    let written = 0;
    const writer = (async () => {
      while (written < total) {
        const n = Math.min(1 + (written % 7), total - written);
        await j.append("live", Array.from({ length: n }, (_, i) => ({ data: bytes(`r${written + i + 1}`) })));
        written += n;
      }
    })();
    const readers = Array.from({ length: 30 }, async (_, i) => {
      await new Promise((r) => setTimeout(r, i * 3));
      const start = Math.max(1, Math.floor(Math.random() * (j.get("live").nextSeq)));
      const records = await collect(j.read("live", { cursor: { kind: "sequence", seq: start }, follow: true, signal: never }), total - start + 1);
      expect(records[0]?.seq).toBe(start);
      assertDense(records);
      for (const r of records) expect(Buffer.from(r.data).toString()).toBe(`r${r.seq}`);
      return records.length;
    });
    await writer;
    const counts = await Promise.all(readers);
    expect(counts.every((n) => n > 0)).toBe(true);
  });

  it("a follower that stops reading holds at most READER_QUEUE_MAX_BYTES, then catches up from the store", async () => {
    const j = journals();
    await j.append("slow", [{ data: bytes("start") }]);
    const stuck = j.read("slow", { cursor: { kind: "start" }, follow: true, signal: never });
    const first = await stuck.next();
    expect(first.value?.records.map((r: { seq: number }) => r.seq)).toEqual([1]);
    await stuck.next(); // caught up: from now on it is only subscribed
    const chunk = new Uint8Array(64 * 1024);
    for (let i = 0; i < 200; i++) {
      await j.append("slow", [{ data: chunk }]);
      for (const q of j.followerQueuedBytes("slow")) expect(q).toBeLessThanOrEqual(READER_QUEUE_MAX_BYTES);
    }
    const rest: { seq: number; offset: number; data: Uint8Array }[] = [];
    for await (const batch of stuck) {
      rest.push(...batch.records);
      if (rest.length === 200) break;
    }
    expect(rest[0]?.seq).toBe(2);
    assertDense(rest);
  });

  it("a follower ends with the signal's reason when aborted", async () => {
    const j = journals();
    await j.append("x", [{ data: bytes("1") }]);
    const abort = new AbortController();
    const reading = collect(j.read("x", { cursor: { kind: "start" }, follow: true, signal: abort.signal }));
    setTimeout(() => abort.abort(new Error("client went away")), 20);
    await expect(reading).rejects.toThrow("client went away");
    expect(j.followerQueuedBytes("x")).toEqual([]);
  });
});

describe("removal", () => {
  it("removes journals after the appends submitted before them, ends their followers, and never gives an id (or data files) to a new one", async () => {
    const o = openJournals();
    const j = o.journals;
    const dir = join(dirname(o.path), "output");
    await j.append("old", [{ data: bytes("x".repeat(5000)) }], { dataInFiles: true });
    const follower = collect(j.read("old", { cursor: { kind: "start" }, follow: true, signal: never }));
    // Submitted before the removal, committed in the same batch: it is removed with the rest.
    const late = j.append("old", [{ data: bytes("y".repeat(3000)) }], { dataInFiles: true });
    let alongside = 0;
    const removed = j.remove(["old", "never-made"], () => (alongside += 1));
    await late;
    expect(await removed).toBe(8000);
    expect(alongside).toBe(1);
    expect((await refusal(follower)).reason).toBe("JOURNAL_REMOVED");
    expect((await refusal((async () => j.get("old"))())).reason).toBe("JOURNAL_NOT_FOUND");
    expect(await j.remove(["old"], () => undefined)).toBe(0);
    const oldFiles = readdirSync(dir);
    await vi.waitFor(() => expect(readdirSync(dir)).toEqual([]));

    // The same name again is a new journal, with an id (so files) of its own.
    await j.append("old", [{ data: bytes("new") }], { dataInFiles: true });
    expect(readdirSync(dir)).toHaveLength(1);
    expect(oldFiles).not.toContain(readdirSync(dir)[0]);
    const records = await collect(j.read("old", { cursor: { kind: "start" }, follow: false, signal: never }));
    expect(records.map((r) => Buffer.from(r.data).toString())).toEqual(["new"]);
  });

  it("a journal of many records is removed at once, its records a few thousand per commit with other commits between, and after a restart the deletion goes on", async () => {
    const o = openJournals();
    const line = bytes("x".repeat(100));
    for (let i = 0; i < 5; i++) await o.journals.append("big", Array.from({ length: 4000 }, () => ({ data: line })));
    const others = o.db.prepare("SELECT count(*) FROM journal_records WHERE key >> 32 = (SELECT id FROM journals WHERE name = 'other')").pluck();
    const bigRecords = o.db.prepare("SELECT count(*) FROM journal_records").pluck();
    await o.journals.append("other", [{ data: line }]);
    expect(bigRecords.get()).toBe(20_001);
    await o.journals.remove(["big"], () => undefined);
    // Gone for readers at once; an append made now is committed before the records are all deleted.
    expect((await refusal((async () => o.journals.get("big"))())).reason).toBe("JOURNAL_NOT_FOUND");
    await o.journals.append("other", [{ data: line }]);
    expect(bigRecords.get() as number).toBeGreaterThan(2 + 4096);
    // The daemon stops mid-way: the next one finishes the deletion.
    o.journals.close();
    const again = new Journals(o.db, join(dirname(o.path), "output"));
    try {
      await vi.waitFor(() => expect(bigRecords.get()).toBe(2));
      expect(others.get()).toBe(2);
      expect(o.db.prepare("SELECT count(*) FROM journal_removals").pluck().get()).toBe(0);
    } finally {
      again.close();
    }
  });
});

describe("journal states in memory", () => {
  it("drops an idle journal's state after two sweeps and loads it again as stored: sequences, offsets and reads go on", async () => {
    const j = journals();
    await j.append("idle", [{ data: bytes("one") }, { data: bytes("two") }]);
    await j.append("busy", [{ data: bytes("x") }]);
    expect(j.sweepStates()).toBe(0); // first seen
    await j.append("busy", [{ data: bytes("y") }]);
    expect(j.sweepStates()).toBe(1); // idle, not busy
    expect(j.get("idle")).toMatchObject({ firstSeq: 1, nextSeq: 3, nextOffset: 6 });
    const again = await j.append("idle", [{ data: bytes("three") }]);
    expect([again.firstSeq, again.lastSeq, again.firstOffset]).toEqual([3, 3, 6]);
    const records = await collect(j.read("idle", { cursor: { kind: "start" }, follow: false, signal: never }));
    expect(records.map((r) => Buffer.from(r.data).toString())).toEqual(["one", "two", "three"]);
    assertDense(records);
  });

  it("keeps the state of a journal a reader is in the middle of, or a follower waits on, and they go on with every record", async () => {
    const j = journals();
    await j.append("read", Array.from({ length: 600 }, (_, i) => ({ data: bytes(`r${i}`) })));
    await j.append("followed", [{ data: bytes("f1") }]);
    const reader = j.read("read", { cursor: { kind: "start" }, follow: false, signal: never });
    const texts = (result: IteratorResult<ReadBatch, void>): string[] => (result.done === true ? [] : result.value.records.map((r) => Buffer.from(r.data).toString()));
    const first = await reader.next();
    expect(texts(first).length).toBeGreaterThan(0);
    const stop = new AbortController();
    const follower = j.read("followed", { cursor: { kind: "start" }, follow: true, signal: stop.signal });
    expect(texts(await follower.next())).toEqual(["f1"]);
    j.sweepStates();
    expect(j.sweepStates()).toBe(0);
    await j.append("followed", [{ data: bytes("f2") }]);
    let next = await follower.next();
    while (next.done !== true && next.value.records.length === 0) next = await follower.next(); // past the caught-up mark
    expect(texts(next)).toEqual(["f2"]);
    stop.abort();
    let count = texts(first).length;
    for await (const batch of reader) count += batch.records.length;
    expect(count).toBe(600);
    // Both let go: the next sweeps drop them.
    await follower.return(undefined);
    j.sweepStates();
    expect(j.sweepStates()).toBeGreaterThanOrEqual(1);
  });
});
