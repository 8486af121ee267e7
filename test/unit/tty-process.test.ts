import { describe, expect, it } from "vitest";
import { joined } from "../../daemon/process/thread-reader.js";
import { TtyProcess } from "../../daemon/process/tty-process.js";

/** Every number from 1 to N on its own line, as a terminal shows it (\r\n): any byte lost, repeated or out of place shows. */
const NUMBERS = 200_000;
const MANY_NUMBERS = 2_000_000;
const manyNumbers = Array.from({ length: MANY_NUMBERS }, (_, i) => `${i + 1}\r\n`).join("");
/** How long a chunk's promise holds the terminal, in the test that holds it. */
const HOLD_MS = 200;
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
    let heldSince: number | undefined;
    // Bytes that came late in a hold (what was read before it took effect comes at once) while the program ran.
    let lateInHold = 0;
    let exited = false;
    // More than the reading thread reads ahead (4 regions of 1 MiB) however late the daemon's thread takes the first chunk.
    const tty = run(["seq", "1", String(MANY_NUMBERS)], (chunk) => {
      views.push(chunk);
      // Once the program has exited, what it left in the terminal is read at once, held or not (its tail: see TtyProcess).
      if (heldSince !== undefined && !exited && performance.now() - heldSince > HOLD_MS / 2) lateInHold += chunk.byteLength;
      if (heldSince !== undefined || held === 5) return undefined;
      held++;
      heldSince = performance.now();
      return new Promise((resolve) =>
        setTimeout(() => {
          heldSince = undefined;
          resolve(undefined);
        }, HOLD_MS),
      );
    });
    void tty.exited.then(() => (exited = true));
    const end = await tty.ended;
    expect(end).toEqual({ t: "exited", code: 0 });
    // Each chunk that comes unheld is held, up to 5.
    expect(held).toBe(5);
    // Unheld, `seq` writes ~15 MB in well under a second: held, nothing more comes once the read-ahead is handed on.
    expect(lateInHold).toBe(0);
    expect(Buffer.concat(views).toString()).toBe(manyNumbers);
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
