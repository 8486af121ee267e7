import { describe, expect, it } from "vitest";
import { lineTailOffset, readStartOffset, readStartSeq, recordTailSeq } from "../../daemon/journal/tails.js";
import type { Journals } from "../../daemon/journal/journals.js";
import type { JournalRecord } from "../../daemon/journal/types.js";
import { bytes, collect, journalsPerTest } from "../helpers/journals.js";

const openJournals = journalsPerTest();
const never = new AbortController().signal;

/** Appends each piece as one record, as a process's output arrives: in the data files, cut anywhere. */
async function output(j: Journals, name: string, pieces: readonly string[], meta?: Record<string, string>): Promise<void> {
  for (const piece of pieces) await j.append(name, [{ data: bytes(piece), ...(meta === undefined ? {} : { meta }) }], { dataInFiles: true, durability: "daemon-crash" });
}

/** What a read from `offset` prints, through `keep` as the tail counted. */
async function readFrom(j: Journals, name: string, offset: number, keep: (r: JournalRecord) => boolean = () => true): Promise<string> {
  const records = await collect(j.read(name, { cursor: { kind: "offset", offset }, follow: false, signal: never }));
  return records.filter(keep).map((r) => Buffer.from(r.data).toString()).join("");
}

/** What `tail -n lines` prints of `text`. */
function tailN(text: string, lines: number): string {
  if (lines === 0) return "";
  const body = text.endsWith("\n") ? text.slice(0, -1) : text;
  const all = body.split("\n");
  return all.slice(Math.max(0, all.length - lines)).join("\n") + (text.endsWith("\n") ? "\n" : "");
}

describe("line tails", () => {
  it("start where tail -n would, with lines cut across records, with and without a last newline", async () => {
    const j = openJournals().journals;
    const cases: Record<string, string[]> = {
      ending: ["one\ntw", "o\nthr", "ee\n", "four\n"],
      open: ["one\ntwo\n", "three\nfo", "ur"],
      blank: ["a\n\n", "\nb\n"],
      single: ["no newline at all"],
    };
    for (const [name, pieces] of Object.entries(cases)) {
      await output(j, name, pieces);
      const text = pieces.join("");
      for (const lines of [0, 1, 2, 3, 4, 5, 100]) {
        expect(await readFrom(j, name, await lineTailOffset(j, name, lines)), `${name}, ${lines} lines`).toBe(tailN(text, lines));
      }
    }
    expect(await lineTailOffset(j, "never-written", 10)).toBe(0);
  });

  it("count only the records the read keeps, over many pages of records of any size", async () => {
    const j = openJournals().journals;
    const pieces: string[] = [];
    for (let i = 1; i <= 3000; i++) pieces.push(i % 500 === 0 ? `${"y".repeat(200_000)}\n` : `line ${i}\n`);
    const runOf = (i: number) => (i % 3 === 0 ? "2" : "1");
    for (let i = 0; i < pieces.length; i++) await output(j, "log", [pieces[i]!], { r: runOf(i) });
    const keep = (r: JournalRecord) => r.meta?.["r"] === "1";
    const kept = pieces.filter((_, i) => runOf(i) === "1").join("");
    for (const lines of [1, 7, 1500, 1999, 2000, 5000]) {
      expect(await readFrom(j, "log", await lineTailOffset(j, "log", lines, keep), keep), `${lines} lines of run 1`).toBe(tailN(kept, lines));
    }
    expect(await readFrom(j, "log", await lineTailOffset(j, "log", 2500))).toBe(tailN(pieces.join(""), 2500));
  });

  it("look back only so far: a long last line starts where the scan stopped, short ones at the earliest line start found", async () => {
    const j = openJournals().journals;
    await output(j, "long", ["start\n", ...Array.from({ length: 40 }, () => "z".repeat(1000))]);
    const stopped = await lineTailOffset(j, "long", 1, undefined, 8000);
    expect(stopped).toBeGreaterThan(6);
    expect((await readFrom(j, "long", stopped)).length).toBeGreaterThanOrEqual(8000);
    expect((await readFrom(j, "long", stopped)).length).toBeLessThan(40 * 1000);
    const short = Array.from({ length: 50 }, (_, i) => `b${i + 10}\n`);
    await output(j, "short", ["start\n", "z".repeat(1000), "\n", ...short]);
    const partial = await readFrom(j, "short", await lineTailOffset(j, "short", 100, undefined, 100));
    expect(partial).toMatch(/^(b\d\d\n)+$/);
    expect(partial.length).toBeGreaterThanOrEqual(100 - 4); // the limit, less the line it stopped in
    expect(partial.length).toBeLessThan(short.join("").length);
  });

  it("of records start at the first of the last N, of those kept, looking back only so far", async () => {
    const j = openJournals().journals;
    for (let i = 1; i <= 3000; i++) await j.append("r", [{ data: bytes(`record ${i}`), ...(i % 7 === 0 ? { meta: { c: "x" } } : {}) }], { durability: "daemon-crash" });
    const marked = (r: JournalRecord) => r.meta?.["c"] === "x";
    expect(await recordTailSeq(j, "r", 5)).toBe(2996);
    expect(await recordTailSeq(j, "r", 0)).toBe(3001);
    expect(await recordTailSeq(j, "r", 5000)).toBe(1);
    expect(await recordTailSeq(j, "r", 1, marked)).toBe(2996);
    expect(await recordTailSeq(j, "r", 3, marked)).toBe(2982);
    expect(await recordTailSeq(j, "r", 1000, marked)).toBe(1);
    // 100 bytes back: the earliest marked record in them (2996), not the first of the journal.
    expect(await recordTailSeq(j, "r", 1000, marked, 100)).toBe(2996);
    expect(await recordTailSeq(j, "never-written", 3)).toBe(1);
    expect(await readStartSeq(j, "r", 7, undefined)).toBe(7);
    expect(() => readStartSeq(j, "r", 7, 1)).toThrow(/from_sequence and tail_records cannot be used together/);
  });

  it("refuse a tail with a byte offset, and a time with either", async () => {
    const j = openJournals().journals;
    await output(j, "o", ["a\nb\n"]);
    expect(await readStartOffset(j, "o", { fromOffset: 2, tailLines: undefined, sinceMs: undefined })).toBe(2);
    expect(await readStartOffset(j, "o", { fromOffset: 0, tailLines: 1, sinceMs: undefined })).toBe(2);
    expect(() => readStartOffset(j, "o", { fromOffset: 2, tailLines: 1, sinceMs: undefined })).toThrow(/from_offset and tail_lines cannot be used together/);
    expect(() => readStartOffset(j, "o", { fromOffset: 0, tailLines: 1, sinceMs: 1 })).toThrow(/since cannot be used with from_offset or tail_lines/);
  });

  it("start at the first output stored at a time or later, as docker logs --since: the end when none is, the first retained byte when all are", async () => {
    const j = openJournals().journals;
    await output(j, "o", ["old\n", "older\n"]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const since = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 5));
    // Enough records that the scan back reads more than one page.
    const recent = Array.from({ length: 3000 }, (_, i) => `new ${i}\n`);
    await output(j, "o", recent);
    const start = await readStartOffset(j, "o", { fromOffset: 0, tailLines: undefined, sinceMs: since });
    expect(await readFrom(j, "o", start)).toBe(recent.join(""));
    expect(await readStartOffset(j, "o", { fromOffset: 0, tailLines: undefined, sinceMs: Date.now() + 60_000 })).toBe(j.endOf("o"));
    expect(await readStartOffset(j, "o", { fromOffset: 0, tailLines: undefined, sinceMs: 0 })).toBe(0);
    expect(await readStartOffset(j, "never-written", { fromOffset: 0, tailLines: undefined, sinceMs: since })).toBe(0);
  });
});
