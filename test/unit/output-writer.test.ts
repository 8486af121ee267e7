import { describe, expect, it } from "vitest";
import { OutputWriter, PROCESS_OUTPUT } from "../../daemon/process/output-writer.js";
import { collect, journalsPerTest } from "../helpers/journals.js";

const openJournals = journalsPerTest();
const never = new AbortController().signal;

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
});
