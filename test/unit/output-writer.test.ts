import { describe, expect, it, vi } from "vitest";
import { OutputPacer } from "../../daemon/process/output-pacer.js";
import { OutputWriter, PROCESS_OUTPUT, type OutputWriterOptions } from "../../daemon/process/output-writer.js";
import { collect, journalsPerTest } from "../helpers/journals.js";

const openJournals = journalsPerTest();
const never = new AbortController().signal;

/** A writer into a fresh journal that records each commit's bytes, as text. */
function recordingWriter(options: OutputWriterOptions): { writer: OutputWriter; commits: string[] } {
  const { journals } = openJournals();
  journals.create("out");
  const commits: string[] = [];
  const writer = new OutputWriter((inputs) => {
    commits.push(inputs.map((input) => Buffer.from(input.data).toString()).join(""));
    return journals.append("out", inputs, PROCESS_OUTPUT);
  }, options);
  return { writer, commits };
}

/** A writer into a fresh journal that keeps each record's data as it was handed to the journal (to see whether it is a copy). */
function dataKeepingWriter(): { journals: ReturnType<typeof openJournals>["journals"]; writer: OutputWriter; records: Uint8Array[] } {
  const { journals } = openJournals();
  journals.create("out");
  const records: Uint8Array[] = [];
  const writer = new OutputWriter((inputs) => {
    records.push(...inputs.map((input) => input.data));
    return journals.append("out", inputs, PROCESS_OUTPUT);
  });
  return { journals, writer, records };
}

describe("OutputWriter", () => {
  it("settled() waits for output that arrived during a commit and was held for the next batch", async () => {
    const { journals } = openJournals();
    journals.create("out");
    const writer = new OutputWriter((inputs) => journals.append("out", inputs, PROCESS_OUTPUT));
    // The store is idle: the first chunk is committed at once. The second arrives while that
    // commit is in flight; when it ends the process looks like it streams, so the second
    // chunk waits for a batch timer. A process that exits now must still have it stored.
    void writer.write(1, Buffer.alloc(4096, "a"));
    void writer.write(1, Buffer.alloc(4096, "b"));
    await writer.settled();
    const stored = await collect(journals.read("out", { cursor: { kind: "start" }, follow: false, signal: never }));
    expect(Buffer.concat(stored.map((r) => r.data)).toString()).toBe("a".repeat(4096) + "b".repeat(4096));
  });

  it("with idleCommitDelayMs, holds idle output that long, and settled() commits it at once", async () => {
    const { journals } = openJournals();
    journals.create("out");
    const writer = new OutputWriter((inputs) => journals.append("out", inputs, PROCESS_OUTPUT), { idleCommitDelayMs: 60_000 });
    const stored = async () => Buffer.concat((await collect(journals.read("out", { cursor: { kind: "start" }, follow: false, signal: never }))).map((r) => r.data)).toString();
    void writer.write(1, Buffer.from("x"));
    void writer.write(1, Buffer.from("y"));
    for (let turn = 0; turn < 5; turn++) await new Promise((resolve) => setImmediate(resolve));
    expect(await stored()).toBe("");
    await writer.settled();
    expect(await stored()).toBe("xy");
  });

  it("with idleCommitDelayMs, output that keeps coming is committed once it is quiet that long, or 12 ms after its first byte", async () => {
    const { writer, commits } = recordingWriter({ idleCommitDelayMs: 4 });
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] });
    try {
      // Typing faster than the quiet delay: one commit when the first keystroke's echo is 12 ms old.
      for (const key of "abcd") {
        void writer.write(1, Buffer.from(key));
        vi.advanceTimersByTime(3);
      }
      expect(commits).toEqual(["abcd"]);
      await writer.storedThrough(4);
      // A keystroke after that: committed once 4 ms pass with nothing more.
      void writer.write(1, Buffer.from("e"));
      vi.advanceTimersByTime(3);
      expect(commits).toEqual(["abcd"]);
      vi.advanceTimersByTime(1);
      expect(commits).toEqual(["abcd", "e"]);
    } finally {
      vi.useRealTimers();
    }
    await writer.settled();
  });

  it("idleCommitMaxDelayMs sets how long output that keeps coming waits for its quiet (a terminal's typing)", async () => {
    const { writer, commits } = recordingWriter({ idleCommitDelayMs: 4, idleCommitMaxDelayMs: 30 });
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] });
    try {
      // A key every 3 ms: nothing stored at 27 ms, the ten keys in one commit at 30.
      for (const key of "abcdefghij") {
        void writer.write(1, Buffer.from(key));
        vi.advanceTimersByTime(key === "j" ? 2 : 3);
      }
      expect(commits).toEqual([]);
      vi.advanceTimersByTime(1);
      expect(commits).toEqual(["abcdefghij"]);
    } finally {
      vi.useRealTimers();
    }
    await writer.settled();
  });

  it("a full batch is committed beside the commit in flight, two at most, and the output lands whole and in order", async () => {
    const { journals } = openJournals();
    journals.create("out");
    const MIB = 1024 * 1024;
    // Each commit waits for the test to let it go, then appends for real.
    const commits: { bytes: number; go: () => void }[] = [];
    const writer = new OutputWriter((inputs) => {
      const bytes = inputs.reduce((n, input) => n + input.data.byteLength, 0);
      return new Promise<void>((go) => commits.push({ bytes, go })).then(() => journals.append("out", inputs, PROCESS_OUTPUT));
    });
    const turns = async (n: number) => {
      for (let turn = 0; turn < n; turn++) await new Promise((resolve) => setImmediate(resolve));
    };
    const chunk = (fill: string) => Buffer.alloc(MIB, fill);
    void writer.write(1, chunk("a"));
    await turns(2);
    expect(commits.map((c) => c.bytes)).toEqual([MIB]);
    // Four more MiB while the first commit is in flight: a full batch, committed at once beside it.
    for (const fill of "bcde") void writer.write(1, chunk(fill));
    expect(commits.map((c) => c.bytes)).toEqual([MIB, 4 * MIB]);
    // Four more: a full batch again, but two commits are in flight already.
    for (const fill of "fghi") void writer.write(1, chunk(fill));
    await turns(2);
    expect(commits).toHaveLength(2);
    // The first one done, the waiting batch goes at once.
    commits[0]!.go();
    await turns(4);
    expect(commits.map((c) => c.bytes)).toEqual([MIB, 4 * MIB, 4 * MIB]);
    commits[1]!.go();
    commits[2]!.go();
    await writer.settled();
    const stored = await collect(journals.read("out", { cursor: { kind: "start" }, follow: false, signal: never }));
    expect(Buffer.concat(stored.map((r) => r.data)).equals(Buffer.concat([..."abcdefghi"].map(chunk)))).toBe(true);
  });

  it("holdUntil stores nothing before its gate settles, then everything in order; a gate that fails opens it too", async () => {
    const { journals } = openJournals();
    const stored = async (name: string) => Buffer.concat((await collect(journals.read(name, { cursor: { kind: "start" }, follow: false, signal: never }))).map((r) => r.data)).toString();
    for (const outcome of ["stored", "failed"] as const) {
      const name = `out-${outcome}`;
      journals.create(name);
      const writer = new OutputWriter((inputs) => journals.append(name, inputs, PROCESS_OUTPUT));
      let open!: () => void;
      let fail!: (error: Error) => void;
      writer.holdUntil(new Promise<void>((resolve, reject) => ((open = resolve), (fail = reject))));
      void writer.write(1, Buffer.from("a"));
      void writer.write(2, Buffer.from("b"));
      for (let turn = 0; turn < 5; turn++) await new Promise((resolve) => setImmediate(resolve));
      expect(await stored(name)).toBe("");
      if (outcome === "stored") open();
      else fail(new Error("the store is closed"));
      await writer.settled();
      expect(await stored(name)).toBe("ab");
    }
  });

  it("a pacing client holds the writer once it lags by more than the pacer's lag, and lets it go as it catches up or leaves; output a failed commit lost holds nothing", async () => {
    const { journals } = openJournals();
    journals.create("out");
    const pacer = new OutputPacer(64 * 1024, 1);
    const writer = new OutputWriter((inputs) => journals.append("out", inputs, PROCESS_OUTPUT), { pacer });
    const client = pacer.attach(0)!;
    expect(pacer.attach(0)).toBeUndefined(); // one client paces
    const chunk = Buffer.alloc(16 * 1024, "x");
    const held: (Promise<unknown> | undefined)[] = [];
    for (let i = 0; i < 6; i++) held.push(writer.write(1, chunk));
    // 96 KiB written, the client at 0: the last two writes (past 64 KiB) wait.
    expect(held.map((h) => h !== undefined)).toEqual([false, false, false, false, true, true]);
    let released = 0;
    void held[4]!.then(() => released++);
    void held[5]!.then(() => released++);
    client.delivered(16 * 1024); // 80 KiB - 16 KiB: within the lag for the fifth, not the sixth
    await Promise.resolve();
    expect(released).toBe(1);
    client.release(); // the client went away: nothing holds
    await Promise.resolve();
    expect(released).toBe(2);
    expect(writer.write(1, chunk)).toBeUndefined();
    await writer.settled();

    // The store refuses every commit: those bytes never reach the journal, so they hold nothing.
    const failing = new OutputPacer(64 * 1024, 1);
    const refused = new OutputWriter(() => Promise.reject(new Error("disk full")), { pacer: failing });
    failing.attach(0);
    // Held past the lag while their commits are under way; let go once those fail, as those bytes never come.
    const waits = Array.from({ length: 6 }, () => refused.write(1, chunk));
    expect(waits.map((h) => h !== undefined)).toEqual([false, false, false, false, true, true]);
    await Promise.all(waits);
    await refused.settled();
    expect(refused.lost()).toEqual({ bytes: 6 * chunk.byteLength, because: expect.objectContaining({ message: "disk full" }) });
    for (let i = 0; i < 8; i++) {
      expect(refused.write(1, chunk)).toBeUndefined();
      await refused.settled();
    }
  });

  it("several pacing clients hold the writer only while every one of them lags: the furthest sets the pace, and one that stops reading holds nothing while another reads", async () => {
    const { journals } = openJournals();
    journals.create("out");
    const pacer = new OutputPacer(64 * 1024, Infinity);
    const writer = new OutputWriter((inputs) => journals.append("out", inputs, PROCESS_OUTPUT), { pacer });
    const stuck = pacer.attach(0)!;
    const reading = pacer.attach(0)!;
    const chunk = Buffer.alloc(16 * 1024, "x");
    const written = (): number => writer.nextOffset();
    // The reading client keeps up; the stuck one never moves: nothing is held, far past the lag.
    for (let i = 0; i < 12; i++) {
      expect(writer.write(1, chunk)).toBeUndefined();
      reading.delivered(written());
    }
    // Now neither reads: held once the furthest (the reading client) lags by more than 64 KiB.
    const held: (Promise<unknown> | undefined)[] = [];
    for (let i = 0; i < 5; i++) held.push(writer.write(1, chunk));
    expect(held.map((h) => h !== undefined)).toEqual([false, false, false, false, true]);
    let released = false;
    void held[4]!.then(() => (released = true));
    reading.release(); // the furthest left: the stuck client, far behind, holds it still
    await Promise.resolve();
    expect(released).toBe(false);
    // A client attaching now, handed output up to where the writer is, paces it: it goes on.
    const late = pacer.attach(written())!;
    await Promise.resolve();
    expect(released).toBe(true);
    late.release();
    stuck.release();
    expect(writer.write(1, chunk)).toBeUndefined();
    await writer.settled();
  });

  it("joins chunks that lie side by side in memory into one record without copying them, and copies the rest into it", async () => {
    const { journals, writer, records } = dataKeepingWriter();
    // Memory of their own (small Buffers share a pool): as output-reader.ts reads into.
    const region = Buffer.from(new ArrayBuffer(8));
    region.write("abcdefgh");
    const other = Buffer.from(new ArrayBuffer(2));
    other.write("XY");
    // Held behind a gate, so all of them go into one commit.
    let open!: () => void;
    writer.holdUntil(new Promise<void>((resolve) => (open = resolve)));
    void writer.write(1, region.subarray(0, 3));
    void writer.write(1, region.subarray(3, 6));
    void writer.write(2, other);
    void writer.write(2, region.subarray(6, 8));
    open();
    await writer.settled();
    expect(records.map((r) => Buffer.from(r).toString())).toEqual(["abcdef", "XYgh"]);
    expect([records[0]!.buffer === region.buffer, records[0]!.byteOffset]).toEqual([true, 0]);
    expect([records[1]!.buffer === region.buffer, records[1]!.buffer === other.buffer]).toEqual([false, false]);
    const stored = await collect(journals.read("out", { cursor: { kind: "start" }, follow: false, signal: never }));
    expect(stored.map((r) => Buffer.from(r.data).toString())).toEqual(["abcdef", "XYgh"]);
  });

  it("a record that is one wide view starts anew rather than copy a chunk from another region into it", async () => {
    const { writer, records } = dataKeepingWriter();
    const [first, second] = [Buffer.from(new ArrayBuffer(1024 * 1024)).fill("a"), Buffer.from(new ArrayBuffer(1024 * 1024)).fill("b")];
    let open!: () => void;
    writer.holdUntil(new Promise<void>((resolve) => (open = resolve)));
    void writer.write(1, first.subarray(0, 200 * 1024));
    void writer.write(1, first.subarray(200 * 1024, 300 * 1024));
    void writer.write(1, second.subarray(0, 100 * 1024));
    open();
    await writer.settled();
    expect(records.map((r) => [r.buffer === first.buffer ? "first" : r.buffer === second.buffer ? "second" : "copy", r.byteLength])).toEqual([
      ["first", 300 * 1024],
      ["second", 100 * 1024],
    ]);
  });
});
