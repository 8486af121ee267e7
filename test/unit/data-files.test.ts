import { existsSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { DataFiles } from "../../daemon/journal/data-files.js";
import type { DataWrite } from "../../daemon/journal/data-segments.js";
import { BLOCK_ALIGNED, BLOCK_BYTES } from "../../daemon/journal/direct-blocks.js";
import { DATA_DIRECT_MIN_BYTES, DATA_SEGMENT_BYTES } from "../../daemon/journal/limits.js";
import { ThreadReader } from "../../daemon/process/thread-reader.js";

const dirs: string[] = [];
const opened: DataFiles[] = [];
afterEach(() => {
  for (const files of opened.splice(0)) files.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function dataFiles(parent = tmpdir()): { files: DataFiles; dir: string } {
  const dir = mkdtempSync(join(parent, "tether-data-"));
  dirs.push(dir);
  const files = new DataFiles(join(dir, "output"));
  opened.push(files);
  return { files, dir: join(dir, "output") };
}

/** `size` bytes whose every byte says where it is, with a salt so a rewrite differs: byte at X is (X + salt) mod 251. */
function patterned(offset: number, size: number, salt = 0): Buffer {
  const data = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) data[i] = (offset + i + salt) % 251;
  return data;
}

/** Appends of sizes around the direct threshold and a block, from unaligned offsets, through the segment boundary. */
function appends(journalId: number, start: number): DataWrite[] {
  const sizes = [1, 4095, DATA_DIRECT_MIN_BYTES - 1, DATA_DIRECT_MIN_BYTES, 3, 1024 * 1024 + 17, 4096, 250_001, 7, 2 * 1024 * 1024 - 5];
  const writes: DataWrite[] = [];
  let offset = start;
  for (const size of sizes) {
    writes.push({ journalId, offset, data: patterned(offset, size) });
    offset += size;
  }
  return writes;
}

async function writeEach(files: DataFiles, writes: readonly DataWrite[], async: boolean): Promise<void> {
  for (const write of writes) {
    if (async) await files.writeAsync([write]);
    else files.write([write]);
  }
}

function expectReadsBack(files: DataFiles, journalId: number, from: number, to: number): void {
  expect(files.read(journalId, from, to - from).equals(patterned(from, to - from))).toBe(true);
}

describe("data files", () => {
  for (const async of [false, true]) {
    it(`read back every byte of small and large writes from unaligned offsets, across a segment boundary (${async ? "thread pool" : "daemon's thread"})`, async () => {
      const { files, dir } = dataFiles();
      const start = DATA_SEGMENT_BYTES - 3 * 1024 * 1024 - 1234;
      const writes = appends(1, start);
      await writeEach(files, writes, async);
      const end = writes.at(-1)!.offset + writes.at(-1)!.data.byteLength;
      expect(end).toBeGreaterThan(DATA_SEGMENT_BYTES);
      for (const write of writes) expectReadsBack(files, 1, write.offset, write.offset + write.data.byteLength);
      expectReadsBack(files, 1, start, end);
      expectReadsBack(files, 1, start + 5, DATA_SEGMENT_BYTES + 70_000);
      // Another DataFiles on the same directory (a restarted daemon) reads the same bytes.
      const again = new DataFiles(dir);
      opened.push(again);
      expectReadsBack(again, 1, start, end);
    });
  }

  it("keystroke-sized writes within one block, one rolled back, then a direct write from inside that block, read back whole", async () => {
    const { files } = dataFiles();
    let offset = 4096 * 3 + 100;
    for (let i = 0; i < 40; i++) {
      files.write([{ journalId: 1, offset, data: patterned(offset, 1 + (i % 3)) }]);
      offset += 1 + (i % 3);
    }
    // Rolled back: the next append starts 2 bytes earlier, with other bytes.
    offset -= 2;
    files.write([{ journalId: 1, offset, data: patterned(offset, 5, 1) }]);
    await files.writeAsync([{ journalId: 1, offset: offset + 5, data: patterned(offset + 5, DATA_DIRECT_MIN_BYTES * 2, 2) }]);
    expect(files.read(1, 4096 * 3 + 100, offset - (4096 * 3 + 100)).equals(patterned(4096 * 3 + 100, offset - (4096 * 3 + 100)))).toBe(true);
    expect(files.read(1, offset, 5).equals(patterned(offset, 5, 1))).toBe(true);
    expect(files.read(1, offset + 5, DATA_DIRECT_MIN_BYTES * 2).equals(patterned(offset + 5, DATA_DIRECT_MIN_BYTES * 2, 2))).toBe(true);
  });

  it("several writes of one commit, to several journals, land as one write each, whole", async () => {
    const { files } = dataFiles();
    const batch = [...appends(1, 100), ...appends(2, 70_000)].sort((a, b) => a.data.byteLength - b.data.byteLength);
    await files.writeAsync(batch);
    for (const write of batch) expectReadsBack(files, write.journalId, write.offset, write.offset + write.data.byteLength);
  });

  it("a write at an offset written before (an append whose commit failed) replaces those bytes, and keeps the ones before it", async () => {
    const { files } = dataFiles();
    const big = 300_000;
    files.write([{ journalId: 1, offset: 10, data: patterned(10, big) }]);
    // Rolled back: the next append starts again at 10 + 5000, inside what was written, with other bytes.
    files.write([{ journalId: 1, offset: 10 + 5000, data: patterned(10 + 5000, big, 1) }]);
    expect(files.read(1, 10, 5000).equals(patterned(10, 5000))).toBe(true);
    expect(files.read(1, 10 + 5000, big).equals(patterned(10 + 5000, big, 1))).toBe(true);
    // A small write in between (through the page cache), then a large one after it.
    files.write([{ journalId: 1, offset: 10 + 5000 + big, data: patterned(0, 100, 2) }]);
    await files.writeAsync([{ journalId: 1, offset: 10 + 5100 + big, data: patterned(0, big, 3) }]);
    expect(files.read(1, 10 + 5000 + big, 100).equals(patterned(0, 100, 2))).toBe(true);
    expect(files.read(1, 10 + 5100 + big, big).equals(patterned(0, big, 3))).toBe(true);
  });

  it("many readers at once, past the page cache and (beyond a few) through it, each get their bytes", async () => {
    const { files } = dataFiles();
    const writes = appends(1, 7);
    await files.writeAsync(writes);
    const end = writes.at(-1)!.offset + writes.at(-1)!.data.byteLength;
    const reads = await Promise.all(Array.from({ length: 12 }, (_, i) => files.readAsync(1, 7 + i * 1000, end - 7 - i * 1000)));
    reads.forEach((read, i) => expect(read.equals(patterned(7 + i * 1000, end - 7 - i * 1000))).toBe(true));
  });

  it("a streaming process's bytes, read by a reading thread laid out as the files hold them, are written from where they were read, every byte in place", async () => {
    const { files, dir } = dataFiles();
    // Mid-block, and across a segment boundary.
    const start = DATA_SEGMENT_BYTES - 5 * 1024 * 1024 - 1234;
    const size = 12 * 1024 * 1024;
    const source = join(dir, "..", "source");
    writeFileSync(source, patterned(start, size));
    const chunks: Buffer[] = [];
    const reader = ThreadReader.open(openSync(source, "r"), start, (chunk) => void chunks.push(chunk));
    expect(reader).toBeDefined();
    await reader!.done;
    let offset = start;
    const writes = chunks.map((data) => {
      // Each byte lies in memory where it lies within a block of its file.
      expect(BLOCK_ALIGNED.has(data.buffer)).toBe(true);
      expect(data.byteOffset % BLOCK_BYTES).toBe(offset % BLOCK_BYTES);
      offset += data.byteLength;
      return { journalId: 1, offset: offset - data.byteLength, data };
    });
    expect(offset).toBe(start + size);
    // A first direct write settles whether this filesystem takes direct I/O; the reader's memory must not make it refuse.
    await files.writeAsync(writes.slice(0, 1));
    const direct = files.bypassesPageCache;
    for (let i = 1; i < writes.length; i += 3) await files.writeAsync(writes.slice(i, i + 3));
    expect(files.bypassesPageCache).toBe(direct);
    expectReadsBack(files, 1, start, start + size);
  });

  it("writes under way at once, each starting in the block the last one ends in, land whole, however they finish", async () => {
    const { files } = dataFiles();
    let offset = 5 * 4096 + 777;
    const start = offset;
    const sizes = [DATA_DIRECT_MIN_BYTES * 3 + 1, 4 * 1024 * 1024 + 5, DATA_DIRECT_MIN_BYTES + 4095, 1000, 2 * 1024 * 1024 - 3, DATA_DIRECT_MIN_BYTES * 2 + 2049];
    for (let round = 0; round < 20; round++) {
      const calls: Promise<void>[] = [];
      for (const size of sizes) {
        calls.push(files.writeAsync([{ journalId: 1, offset, data: patterned(offset, size) }]));
        offset += size;
      }
      await Promise.all(calls);
    }
    expectReadsBack(files, 1, start, offset);
  });

  it.skipIf(!existsSync("/dev/shm"))("work the same on a filesystem without direct I/O (tmpfs)", async () => {
    const { files } = dataFiles("/dev/shm");
    const writes = appends(1, 333);
    await writeEach(files, writes, true);
    const end = writes.at(-1)!.offset + writes.at(-1)!.data.byteLength;
    expectReadsBack(files, 1, 333, end);
  });
});
