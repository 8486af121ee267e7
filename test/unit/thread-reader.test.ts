import { mkdtempSync, openSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ThreadReader } from "../../daemon/process/thread-reader.js";
import { ROOT } from "../helpers/daemon.js";

const MIB = 1024 * 1024;

/** A file of `bytes`, every byte its offset modulo 251: any byte lost, repeated or out of place shows. */
function patternedFile(bytes: number): { path: string; content: Buffer } {
  const content = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) content[i] = i % 251;
  const path = join(mkdtempSync(join(tmpdir(), "tether-thread-reader-")), "data");
  writeFileSync(path, content);
  return { path, content };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("ThreadReader", () => {
  it("holds the reading until every pending promise has settled, not only the first to settle", async () => {
    const { path, content } = patternedFile(16 * MIB);
    const chunks: Buffer[] = [];
    let longHoldSettled = false;
    let shortHoldSettled = false;
    let arrivedDuringLongHold = 0;
    let bytesAfterShortBeforeLong = 0;
    const reader = ThreadReader.open(openSync(path, "r"), 0, (chunk) => {
      chunks.push(chunk);
      if (chunks.length > 1 && !longHoldSettled) {
        arrivedDuringLongHold++;
        if (shortHoldSettled) bytesAfterShortBeforeLong += chunk.byteLength;
      }
      if (chunks.length === 1) {
        // The daemon's thread busy: the reading thread reads ahead meanwhile, so more comes while this chunk's hold is pending.
        const until = Date.now() + 50;
        while (Date.now() < until);
        return sleep(300).then(() => (longHoldSettled = true));
      }
      if (chunks.length === 2) return sleep(5).then(() => (shortHoldSettled = true));
      return undefined;
    });
    expect(reader).toBeDefined();
    await reader!.done;
    expect(Buffer.concat(chunks).equals(content)).toBe(true);
    // Not vacuous: a second chunk came while the first was held, and its shorter hold settled first.
    expect(arrivedDuringLongHold).toBeGreaterThan(0);
    expect(shortHoldSettled).toBe(true);
    // Read on after the shorter hold, the rest of the 16 MiB would have come within the longer one's 300 ms.
    expect(bytesAfterShortBeforeLong).toBe(0);
  });

  it("stop() ends the reading of a descriptor that never ends, and hands on what was read", async () => {
    const { readFd, writeFd } = await pipePair();
    const chunks: Buffer[] = [];
    const reader = ThreadReader.open(readFd, 0, (chunk) => {
      chunks.push(Buffer.from(chunk));
      return undefined;
    })!;
    writeFileSync(writeFd, "before stop\n");
    while (Buffer.concat(chunks).byteLength < 12) await sleep(5);
    reader.stop();
    await reader.done;
    expect(Buffer.concat(chunks).toString()).toBe("before stop\n");
  });

  it("finish() reads on though held, to the first empty read, and ends with every byte of a descriptor that never ends", async () => {
    const { readFd, writeFd } = await pipePair();
    const chunks: Buffer[] = [];
    let release!: () => void;
    const hold = new Promise<void>((resolve) => (release = resolve));
    const reader = ThreadReader.open(readFd, 0, (chunk) => {
      chunks.push(Buffer.from(chunk));
      return chunks.length === 1 ? hold : undefined;
    })!;
    const got = (): number => Buffer.concat(chunks).byteLength;
    writeFileSync(writeFd, "a".repeat(1000));
    while (got() < 1000) await sleep(5);
    writeFileSync(writeFd, "b".repeat(1000));
    await sleep(100);
    // Held: the b's wait in the pipe.
    expect(got()).toBe(1000);
    const finished = reader.finish();
    while (got() < 2000) await sleep(5);
    release();
    await finished;
    expect(Buffer.concat(chunks).toString()).toBe("a".repeat(1000) + "b".repeat(1000));
  });

  it("gives freed regions' memory back to the system once the reading has stopped", async () => {
    const { execFileSync } = await import("node:child_process");
    const warm = patternedFile(8 * MIB);
    const big = patternedFile(96 * MIB);
    const out = execFileSync(process.execPath, ["--expose-gc", join(ROOT, "test/helpers/region-trim.mjs"), join(ROOT, "build/Release/tether_reader.node"), warm.path, big.path], { encoding: "utf8" });
    const m = JSON.parse(out) as { held: number; freed: number; trimmed: number; looks: boolean[]; again: boolean };
    // 96 MiB of regions were resident while held, and stayed so once freed (glibc keeps them for reuse, one region pinning the top).
    expect(m.held).toBeGreaterThan(96 * MIB);
    expect(m.held - m.freed).toBeLessThan(32 * MIB);
    // The first look saw regions made since the one before (none): no trim; the second, quiet after activity, trims.
    expect(m.looks).toEqual([false, true]);
    expect(m.freed - m.trimmed).toBeGreaterThan(64 * MIB);
    // Nothing freed since: no trim again.
    expect(m.again).toBe(false);
  });
});

/** Two descriptors of one FIFO, read and write ends, opened in this process: the read end never ends while the write end is open. */
async function pipePair(): Promise<{ readFd: number; writeFd: number }> {
  const { execFileSync } = await import("node:child_process");
  const fifo = join(mkdtempSync(join(tmpdir(), "tether-thread-reader-")), "fifo");
  execFileSync("mkfifo", [fifo]);
  // O_RDWR on a FIFO opens without waiting for the other end (Linux); the writer is a second descriptor.
  const readFd = openSync(fifo, "r+");
  const writeFd = openSync(fifo, "w");
  return { readFd, writeFd };
}
