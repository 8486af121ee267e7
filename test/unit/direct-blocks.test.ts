import { describe, expect, it } from "vitest";
import { AlignedMemory, BLOCK_ALIGNED, BLOCK_BYTES, BlockTails, blockSpan, type Run } from "../../daemon/journal/direct-blocks.js";

const MIB = 1024 * 1024;

/** A run of one part: `length` bytes at file position `position`, lying in `memory` from `address`, every byte (position + i) mod 251. */
function runIn(memory: Buffer, address: number, position: number, length: number): Run {
  const data = memory.subarray(address, address + length);
  for (let i = 0; i < length; i++) data[i] = (position + i) % 251;
  return { key: "1.0", position, length, parts: [{ data, from: 0, length, position }] };
}

/** Sequential views of aligned memory, as the data files stage a write. */
function stager(): (bytes: number) => Buffer {
  const staging = new AlignedMemory();
  staging.reserve(8 * MIB);
  let at = 0;
  return (bytes) => staging.view((at += bytes) - bytes, bytes);
}

/** What the file holds before the writes: every byte 7. */
const onDisk = (): Buffer => Buffer.alloc(BLOCK_BYTES, 7);

function expectLaidOut(run: Run, buffers: Buffer[]): void {
  const blocks = Buffer.concat(buffers);
  const head = run.position % BLOCK_BYTES;
  expect(blocks.length).toBe(blockSpan(run));
  expect(blocks.subarray(0, head).equals(onDisk().subarray(0, head))).toBe(true);
  expect(blocks.subarray(head, head + run.length).equals(run.parts[0]!.data)).toBe(true);
  expect(blocks.subarray(head + run.length).every((b) => b === 0)).toBe(true);
}

describe("block layout for direct writes", () => {
  it("writes a part from its own memory when it lies there as in the file, copying only the blocks at its edges", () => {
    const memory = new AlignedMemory().reserve(4 * MIB);
    BLOCK_ALIGNED.add(memory.buffer);
    const position = 3 * BLOCK_BYTES + 904;
    const run = runIn(memory, 904, position, 3 * MIB + 17);
    const buffers = new BlockTails().layout(run, stager(), onDisk);
    expectLaidOut(run, buffers);
    // The first block (the bytes before the part, from the disk), the part's whole blocks in place, its last partial block.
    expect(buffers.map((b) => b.buffer === memory.buffer)).toEqual([false, true, false]);
    expect(buffers[1]!.length).toBe(3 * MIB + 17 - (BLOCK_BYTES - 904) - ((position + 3 * MIB + 17) % BLOCK_BYTES));
  });

  it("copies a part that lies elsewhere within a block than in the file, one in memory not known to be aligned, and a small one", () => {
    const aligned = new AlignedMemory().reserve(4 * MIB);
    BLOCK_ALIGNED.add(aligned.buffer);
    const unregistered = new AlignedMemory().reserve(4 * MIB);
    for (const run of [runIn(aligned, 905, 904, 2 * MIB), runIn(unregistered, 904, 904, 2 * MIB), runIn(aligned, 904, 904, 60 * 1024)]) {
      const buffers = new BlockTails().layout(run, stager(), onDisk);
      expectLaidOut(run, buffers);
      expect(buffers.some((b) => b.buffer === aligned.buffer || b.buffer === unregistered.buffer)).toBe(false);
    }
  });

  it("the next write starts from the last one's partial block as kept, not as the disk holds it", () => {
    const memory = new AlignedMemory().reserve(4 * MIB);
    BLOCK_ALIGNED.add(memory.buffer);
    const tails = new BlockTails();
    const first = runIn(memory, 100, 100, MIB + 300);
    tails.layout(first, stager(), onDisk);
    const end = 100 + MIB + 300;
    const second = runIn(memory, end % BLOCK_BYTES + 2 * MIB, end, MIB);
    const buffers = tails.layout(second, stager(), () => {
      throw new Error("read back a block the tail holds");
    });
    const blocks = Buffer.concat(buffers);
    const head = end % BLOCK_BYTES;
    for (let i = 0; i < head; i++) expect(blocks[i]).toBe((end - head + i) % 251);
    expect(blocks.subarray(head, head + MIB).equals(second.parts[0]!.data)).toBe(true);
    expect(buffers.some((b) => b.buffer === memory.buffer)).toBe(true);
  });
});
