import { execFileSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SegmentSync } from "../../daemon/journal/segment-sync.js";

// A FIFO stands in for a segment whose sync does not finish: opening it to sync blocks until a writer opens it.
const tick = () => new Promise((resolve) => setTimeout(resolve, 50));

describe("segment syncs", () => {
  it("a segment synced by synced() is clean after it: the next synced() does not sync it again", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tether-sync-"));
    writeFileSync(join(dir, "1.0"), "bytes");
    const sync = new SegmentSync(dir);
    sync.touched("1.0");
    await sync.synced();
    // Were 1.0 still dirty, syncing it now would block on the FIFO.
    rmSync(join(dir, "1.0"));
    execFileSync("mkfifo", [join(dir, "1.0")]);
    let done = false;
    const again = sync.synced().then(() => (done = true));
    await tick();
    expect(done).toBe(true);
    await again;
  });

  it("synced() waits for the syncs already under way, which took the segments it would have synced, and fails with them", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tether-sync-"));
    execFileSync("mkfifo", [join(dir, "2.0")]);
    const sync = new SegmentSync(dir);
    sync.touched("2.0");
    const order: string[] = [];
    const settle = (name: string) => (error: unknown) => order.push(`${name}: ${(error as NodeJS.ErrnoException | undefined)?.code ?? "synced"}`);
    const first = sync.synced().then(settle("first"), settle("first"));
    const second = sync.synced().then(settle("second"), settle("second"));
    await tick();
    expect(order).toEqual([]);
    // A writer opens the FIFO: the first sync's open returns, and its fdatasync fails (a FIFO cannot be synced); only
    // then does the second end, with the same failure: the segment it relied on the first for is not on disk.
    const writer = openSync(join(dir, "2.0"), "w");
    await Promise.all([first, second]);
    closeSync(writer);
    expect(order).toEqual(["first: EINVAL", "second: EINVAL"]);
  });
});
