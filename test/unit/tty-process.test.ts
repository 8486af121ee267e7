import { describe, expect, it } from "vitest";
import { joined } from "../../daemon/process/thread-reader.js";
import { TtyProcess } from "../../daemon/process/tty-process.js";

/** Every number from 1 to N on its own line, as a terminal shows it (\r\n): any byte lost, repeated or out of place shows. */
const NUMBERS = 200_000;
const numbers = Array.from({ length: NUMBERS }, (_, i) => `${i + 1}\r\n`).join("");

function run(argv: string[], onOutput: (chunk: Buffer) => Promise<unknown> | undefined): TtyProcess {
  return new TtyProcess({ argv, cwd: process.cwd(), env: { PATH: process.env["PATH"] }, cols: 80, rows: 24, onOutput });
}

describe("TtyProcess", () => {
  it("reads the terminal into regions, each read just after the one before, and hands on every byte in order", async () => {
    const views: Buffer[] = [];
    const end = await run(["seq", "1", String(NUMBERS)], (chunk) => {
      views.push(chunk);
      return undefined;
    }).ended;
    expect(end).toEqual({ t: "exited", code: 0 });
    expect(Buffer.concat(views).toString()).toBe(numbers);
    const inRegions = views.filter((v) => v.buffer.byteLength === 1024 * 1024);
    expect(inRegions.length).toBe(views.length);
    const gaps = inRegions.filter((v, i) => i > 0 && v.buffer === inRegions[i - 1]!.buffer && v.byteOffset !== inRegions[i - 1]!.byteOffset + inRegions[i - 1]!.byteLength);
    expect(gaps).toEqual([]);
  });

  it("reads on while the daemon's thread is busy: the next chunk holds far more than the terminal's buffers", async () => {
    const sizes: number[] = [];
    const all: Buffer[] = [];
    const end = await run(["seq", "1", String(NUMBERS)], (chunk) => {
      all.push(chunk);
      sizes.push(chunk.byteLength);
      if (sizes.length === 1) {
        // The daemon's thread held up: a reader on that thread would find at most the terminal's buffers (~12-20 KiB) after it.
        const until = Date.now() + 500;
        while (Date.now() < until);
      }
      return undefined;
    }).ended;
    expect(end).toEqual({ t: "exited", code: 0 });
    expect(Buffer.concat(all).toString()).toBe(numbers);
    expect(sizes[1]).toBeGreaterThan(128 * 1024);
  });

  it("holds the terminal while a chunk's promise is pending, and loses nothing", async () => {
    const views: Buffer[] = [];
    let held = 0;
    let holding = false;
    let mostWhileHeld = 0;
    let whileHeld = 0;
    const end = await run(["seq", "1", String(NUMBERS)], (chunk) => {
      views.push(chunk);
      if (holding) whileHeld += chunk.byteLength;
      if (holding || held === 5) return undefined;
      held++;
      holding = true;
      whileHeld = 0;
      return new Promise((resolve) =>
        setTimeout(() => {
          holding = false;
          mostWhileHeld = Math.max(mostWhileHeld, whileHeld);
          resolve(undefined);
        }, 100),
      );
    }).ended;
    expect(end).toEqual({ t: "exited", code: 0 });
    // Each chunk that comes unheld is held (up to 5): a loaded machine reads larger chunks, so fewer.
    expect(held).toBeGreaterThanOrEqual(3);
    // Unheld, `seq` writes its whole ~1.3 MB in 100 ms; held, at most what was read before the hold took effect comes on.
    expect(mostWhileHeld).toBeLessThan(256 * 1024);
    expect(Buffer.concat(views).toString()).toBe(numbers);
  });
});

describe("joined", () => {
  it("widens the view over parts side by side in one buffer, and copies parts that are not", () => {
    // Memory of its own, as a region is (small Buffers share a pool).
    const region = Buffer.allocUnsafeSlow(8);
    region.write("abcdefgh");
    const adjacent = joined([region.subarray(0, 3), region.subarray(3, 5), region.subarray(5, 8)], 8);
    expect(adjacent.toString()).toBe("abcdefgh");
    expect(adjacent.buffer).toBe(region.buffer);
    const apart = joined([region.subarray(0, 2), region.subarray(4, 6)], 4);
    expect(apart.toString()).toBe("abef");
    expect(apart.buffer).not.toBe(region.buffer);
    const elsewhere = joined([region.subarray(0, 2), Buffer.from("xy")], 4);
    expect(elsewhere.toString()).toBe("abxy");
  });
});
