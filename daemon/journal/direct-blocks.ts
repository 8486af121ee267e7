/**
 * What direct I/O (O_DIRECT) asks of a write: whole blocks, from memory
 * aligned to a block. A write of bytes at any position becomes the span of
 * blocks they fall in: the bytes of its first block before them (kept from
 * the file's last write, or read back), the bytes, and zeros to the end of
 * its last block (past the data's end, which no reader asks for; the next
 * write covers it). The data files (data-files.ts) use it for large writes.
 */

/** Direct I/O moves whole blocks of this size, from memory aligned to it. */
export const BLOCK_BYTES = 4096;

/** Bytes that follow each other in one file (`key`) from `position`: one write, one span of blocks. */
export interface Run {
  readonly key: string;
  readonly position: number;
  readonly length: number;
  readonly parts: { readonly data: Uint8Array; readonly from: number; readonly length: number; readonly position: number }[];
}

/** The start of the block that holds `position`. */
export function blockStart(position: number): number {
  return position - (position % BLOCK_BYTES);
}

/** The end of the block that holds the byte before `position`. */
export function roundUp(position: number): number {
  return Math.ceil(position / BLOCK_BYTES) * BLOCK_BYTES;
}

/** The bytes of the blocks `run` falls in. */
export function blockSpan(run: Run): number {
  return roundUp(run.position + run.length) - blockStart(run.position);
}

/** Per file: its last partial block as the last write left it, so the next write that starts in it need not read it back. */
export class BlockTails {
  private readonly tails = new Map<string, { readonly position: number; readonly block: Buffer }>();

  /**
   * Lays `run` out in `blocks` (blockSpan(run) bytes of aligned memory) as
   * whole blocks, the bytes before it in its first block from the tail or
   * `readBlock`, and keeps its last block as the file's tail. Returns `blocks`.
   */
  compose(run: Run, blocks: Buffer, readBlock: (position: number) => Buffer): Buffer {
    const start = blockStart(run.position);
    const head = run.position - start;
    if (head > 0) {
      const tail = this.tails.get(run.key);
      blocks.set((tail?.position === start ? tail.block : readBlock(start)).subarray(0, head));
    }
    let to = head;
    for (const part of run.parts) {
      blocks.set(part.data.subarray(part.from, part.from + part.length), to);
      to += part.length;
    }
    blocks.fill(0, to);
    if (to % BLOCK_BYTES === 0) this.tails.delete(run.key);
    else this.tails.set(run.key, { position: start + blocks.length - BLOCK_BYTES, block: Buffer.from(blocks.subarray(blocks.length - BLOCK_BYTES)) });
    return blocks;
  }

  /**
   * Keeps the file's last partial block as a write of `run` through the page
   * cache leaves it, when the bytes before the run in that block are known
   * (the block starts within the run, or the tail held it).
   */
  keep(run: Run): void {
    const end = run.position + run.length;
    const last = blockStart(end);
    const old = this.tails.get(run.key);
    if (end === last || (run.position > last && old?.position !== last)) {
      this.tails.delete(run.key);
      return;
    }
    // A run within the tail's block (a keystroke's echo) updates it in place: a new block a
    // write cost ~19 µs here. Tails are read only synchronously (compose), so this is safe.
    const block = run.position > last ? old!.block.fill(0, run.position - last) : Buffer.alloc(BLOCK_BYTES);
    for (const part of run.parts) {
      const from = Math.max(part.position, last);
      const to = part.position + part.length;
      if (to > from) block.set(part.data.subarray(part.from + from - part.position, part.from + to - part.position), from - last);
    }
    this.tails.set(run.key, { position: last, block });
  }

  forget(key: string): void {
    this.tails.delete(key);
  }

  forgetAll(): void {
    this.tails.clear();
  }
}

/** The part of the WebAssembly API used here (TypeScript's Node library does not declare it). */
declare const WebAssembly: { Memory: new (descriptor: { initial: number }) => { readonly buffer: ArrayBuffer } };

/**
 * Memory aligned to BLOCK_BYTES, as direct I/O needs, reused: WebAssembly
 * memory, which V8 maps at a page boundary (a Buffer's own memory comes from
 * malloc, with no such promise). Replaced by a larger one when asked for more.
 */
export class AlignedMemory {
  private buffer = Buffer.alloc(0);

  /** At least `bytes` of it, for the views taken until the next reserve. */
  reserve(bytes: number): Buffer {
    if (bytes > this.buffer.length) {
      const pages = Math.ceil(Math.max(bytes, 1024 * 1024) / 65_536);
      const memory = new WebAssembly.Memory({ initial: 2 ** Math.ceil(Math.log2(pages)) });
      this.buffer = Buffer.from(memory.buffer);
    }
    return this.buffer;
  }

  /** `length` bytes from `at`, reserving what that needs. */
  view(at: number, length: number): Buffer {
    return this.reserve(at + length).subarray(at, at + length);
  }

  /** Lets go of the memory when it is larger than `bytes` (the views taken keep it while they live). */
  releaseAbove(bytes: number): void {
    if (this.buffer.length > bytes) this.buffer = Buffer.alloc(0);
  }
}
