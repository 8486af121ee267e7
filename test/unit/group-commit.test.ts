import { describe, expect, it } from "vitest";
import { GroupCommit } from "../../daemon/journal/group-commit.js";

/** A GroupCommit whose transactions are recorded, and whose preparations finish when the test says so. */
function recorder(prepareWhen: (items: string[]) => boolean, preparedAhead = 1) {
  const commits: { items: string[]; prepared: boolean }[] = [];
  const waiting: { items: string[]; ahead: string[][]; finish: (error?: Error) => void }[] = [];
  const commit = new GroupCommit<string, string>(
    (items, prepared) => {
      commits.push({ items, prepared });
      return items.map((item) => `${item} committed`);
    },
    1000,
    (items, ahead) => {
      if (!prepareWhen(items)) return undefined;
      return new Promise<void>((resolve, reject) => waiting.push({ items, ahead: [...ahead], finish: (error) => (error === undefined ? resolve() : reject(error)) }));
    },
    preparedAhead,
  );
  return { commit, commits, waiting };
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe("group commit with a preparation", () => {
  it("commits batches one at a time and in order: what comes during a preparation forms the next batch", async () => {
    const { commit, commits, waiting } = recorder((items) => items.some((i) => i.startsWith("file")));
    const first = commit.submit("file-1", 10);
    await turn();
    expect(waiting.map((w) => w.items)).toEqual([["file-1"]]);
    const later = [commit.submit("ack-2", 10), commit.submit("file-3", 10)];
    await turn();
    // Nothing overtakes the batch being prepared.
    expect(commits).toEqual([]);
    waiting[0]!.finish();
    expect(await first).toBe("file-1 committed");
    await turn();
    expect(waiting.map((w) => w.items)).toEqual([["file-1"], ["ack-2", "file-3"]]);
    waiting[1]!.finish();
    expect(await Promise.all(later)).toEqual(["ack-2 committed", "file-3 committed"]);
    expect(commits).toEqual([
      { items: ["file-1"], prepared: true },
      { items: ["ack-2", "file-3"], prepared: true },
    ]);
    // A batch that needs no preparation commits in its turn, as before.
    expect(await commit.submit("ack-4", 10)).toBe("ack-4 committed");
    expect(commits.at(-1)).toEqual({ items: ["ack-4"], prepared: false });
  });

  it("a failed preparation rejects its batch only; flush commits a batch still preparing, once", async () => {
    const { commit, commits, waiting } = recorder((items) => items.some((i) => i.startsWith("file")));
    const failing = commit.submit("file-1", 10);
    await turn();
    waiting[0]!.finish(new Error("disk full"));
    await expect(failing).rejects.toThrow("disk full");
    expect(commits).toEqual([]);

    const preparing = commit.submit("file-2", 10);
    await turn();
    const pending = commit.submit("ack-3", 10);
    commit.flush();
    expect(commits).toEqual([
      { items: ["file-2"], prepared: false },
      { items: ["ack-3"], prepared: false },
    ]);
    expect(await Promise.all([preparing, pending])).toEqual(["file-2 committed", "ack-3 committed"]);
    // The preparation finishing afterwards commits nothing again.
    waiting[1]!.finish();
    await turn();
    expect(commits).toHaveLength(2);
    expect(commit.idle).toBe(true);
  });

  it("with two prepared ahead, the next batch prepares while the last one does, told what comes before it, and commits after it", async () => {
    const { commit, commits, waiting } = recorder((items) => items.some((i) => i.startsWith("file")), 2);
    const first = commit.submit("file-1", 10);
    await turn();
    const second = commit.submit("file-2", 10);
    await turn();
    const third = commit.submit("ack-3", 10);
    await turn();
    expect(waiting.map((w) => [w.items, w.ahead])).toEqual([
      [["file-1"], []],
      [["file-2"], [["file-1"]]],
    ]);
    // The second is prepared first: it waits for the first all the same.
    waiting[1]!.finish();
    await turn();
    expect(commits).toEqual([]);
    waiting[0]!.finish();
    expect(await Promise.all([first, second])).toEqual(["file-1 committed", "file-2 committed"]);
    // A batch that needs no preparation, behind them, commits in its turn and writes for itself.
    expect(await third).toBe("ack-3 committed");
    expect(commits).toEqual([
      { items: ["file-1"], prepared: true },
      { items: ["file-2"], prepared: true },
      { items: ["ack-3"], prepared: false },
    ]);
  });

  it("a failed preparation fails the batches prepared after it too, once their preparations have settled", async () => {
    const { commit, commits, waiting } = recorder((items) => items.some((i) => i.startsWith("file")), 2);
    const first = commit.submit("file-1", 10);
    await turn();
    const second = commit.submit("file-2", 10);
    await turn();
    let secondSettled = false;
    second.then(
      () => (secondSettled = true),
      () => (secondSettled = true),
    );
    waiting[0]!.finish(new Error("disk full"));
    await expect(first).rejects.toThrow("disk full");
    await turn();
    // Its write may still be landing: it is not failed before that is over.
    expect(secondSettled).toBe(false);
    waiting[1]!.finish();
    await expect(second).rejects.toThrow("disk full");
    expect(commits).toEqual([]);
    // The store goes on with the next.
    const next = commit.submit("file-3", 10);
    await turn();
    expect(waiting[2]!.ahead).toEqual([]);
    waiting[2]!.finish();
    expect(await next).toBe("file-3 committed");
  });

  it("whenIdle resolves once the batches preparing, and what came meanwhile, are committed", async () => {
    const { commit, commits, waiting } = recorder((items) => items.some((i) => i.startsWith("file")), 2);
    void commit.submit("file-1", 10);
    await turn();
    let idle = false;
    void commit.whenIdle().then(() => (idle = true));
    void commit.submit("file-2", 10);
    await turn();
    waiting[0]!.finish();
    await turn();
    expect(idle).toBe(false);
    waiting[1]!.finish();
    await turn();
    await turn();
    expect(idle).toBe(true);
    expect(commits.map((c) => c.items)).toEqual([["file-1"], ["file-2"]]);
  });
});
