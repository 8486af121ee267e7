/**
 * What direct I/O (O_DIRECT) asks of a write: whole blocks, from memory
 * aligned to a block. A write of bytes at any position becomes the span of
 * blocks they fall in: the bytes of its first block before them (kept from
 * the file's last write, or read back), the bytes, and zeros to the end of
 * its last block (past the data's end, which no reader asks for; the next
 * write covers it). The data files (data-files.ts) use it for large writes.
 *
 * A write's bytes are copied into aligned memory to make those blocks,
 * except where they already lie as the file will hold them: in memory that
 * starts at a block boundary (BLOCK_ALIGNED), at the same place within a
 * block as in the file. A reading thread lays a streaming process's output
 * out so (native/reader.c): its whole blocks go to the disk from where the
 * process's bytes were read, and only the blocks at the edges are copied.
 */

/** Direct I/O moves whole blocks of this size, from memory aligned to it. */
export const BLOCK_BYTES = 4096;

/**
 * Memory known to start at a block boundary: the regions a reading thread
 * reads into (thread-reader.ts registers them as it meets them).
 */
export const BLOCK_ALIGNED = new WeakSet<ArrayBufferLike>();

/**
 * A part of a write is written from its own memory when it holds at least
 * this much in whole blocks; a smaller one is copied (each buffer of a
 * write is a step for the kernel, and copying 64 KiB costs ~5 µs here).
 */
const IN_PLACE_MIN_BYTES = 64 * 1024;

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
   * Lays `run` out as whole blocks: buffers to write one after the other
   * from blockStart(run.position), blockSpan(run) bytes in all. Parts that
   * lie in block-aligned memory as they will in the file go as they are
   * (their whole blocks); the rest is copied into memory from `stage(bytes)`
   * (aligned), with the bytes before the run in its first block from the
   * tail or `readBlock`, and zeros after its end. Keeps the run's last
   * block as the file's tail.
   */
  layout(run: Run, stage: (bytes: number) => Buffer, readBlock: (position: number) => Buffer): Buffer[] {
    const end = roundUp(run.position + run.length);
    const buffers: Buffer[] = [];
    let at = blockStart(run.position);
    for (const part of run.parts) {
      const span = inPlace(part);
      if (span === undefined) continue;
      if (span.from > at) buffers.push(this.fill(run, at, span.from, stage(span.from - at), readBlock));
      buffers.push(span.data);
      at = span.to;
    }
    if (end > at) buffers.push(this.fill(run, at, end, stage(end - at), readBlock));
    // An unaligned end lies in the last buffer, a copied one: a part's own span ends at or before the block it ends in.
    if ((run.position + run.length) % BLOCK_BYTES === 0) this.tails.delete(run.key);
    else this.tails.set(run.key, { position: end - BLOCK_BYTES, block: Buffer.from(buffers.at(-1)!.subarray(-BLOCK_BYTES)) });
    return buffers;
  }

  /** File positions [from, to) (block boundaries) of `run` in `blocks`: the bytes before the run in its first block, the run's, zeros after its end. */
  private fill(run: Run, from: number, to: number, blocks: Buffer, readBlock: (position: number) => Buffer): Buffer {
    let filled = 0;
    if (from < run.position) {
      const tail = this.tails.get(run.key);
      filled = run.position - from;
      blocks.set((tail?.position === from ? tail.block : readBlock(from)).subarray(0, filled));
    }
    for (const part of run.parts) {
      const lo = Math.max(part.position, from);
      const hi = Math.min(part.position + part.length, to);
      if (hi <= lo) continue;
      blocks.set(part.data.subarray(part.from + lo - part.position, part.from + hi - part.position), lo - from);
      filled = hi - from;
    }
    return blocks.fill(0, filled);
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

  /** Whether the tail kept for `key` is the block at `position`. */
  holds(key: string, position: number): boolean {
    return this.tails.get(key)?.position === position;
  }

  forget(key: string): void {
    this.tails.delete(key);
  }

  forgetAll(): void {
    this.tails.clear();
  }
}

/** The whole blocks of `part` as they lie in its own memory, when that memory is block-aligned as the file is and holds enough of them. */
function inPlace(part: Run["parts"][number]): { readonly from: number; readonly to: number; readonly data: Buffer } | undefined {
  if (!BLOCK_ALIGNED.has(part.data.buffer)) return undefined;
  const address = part.data.byteOffset + part.from;
  if (address % BLOCK_BYTES !== part.position % BLOCK_BYTES) return undefined;
  const from = roundUp(part.position);
  const to = blockStart(part.position + part.length);
  if (to - from < IN_PLACE_MIN_BYTES) return undefined;
  return { from, to, data: Buffer.from(part.data.buffer, address + from - part.position, to - from) };
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
