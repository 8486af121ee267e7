import { Code } from "@connectrpc/connect";
import { closeSync, constants, mkdirSync, openSync, read as readFd, readSync, unlink, writeSync, writev as writevFd, writevSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { partsFrom } from "../../common/buffer-parts.js";
import { TetherError } from "../errors.js";
import { log } from "../log.js";
import { AlignedMemory, BLOCK_BYTES, BlockTails, blockSpan, blockStart, roundUp, type Run } from "./direct-blocks.js";
import { DiskRoom } from "./disk-room.js";
import { pieces, runs, type DataWrite } from "./data-segments.js";
import { DATA_DIRECT_MIN_BYTES, DATA_FILES_MAX_OPEN, DATA_SEGMENT_BYTES } from "./limits.js";
import { SegmentSync } from "./segment-sync.js";

/**
 * The bytes of a journal's byte-log records (process output), kept in files
 * beside the database instead of in its rows: SQLite writes a blob twice (the
 * WAL, then the checkpoint) and a file takes it once, at the speed of the page
 * cache.
 *
 * A journal's data byte at offset X lives in its segment file
 * `{journalId}.{floor(X / DATA_SEGMENT_BYTES)}` at X % DATA_SEGMENT_BYTES, so
 * the journal's rows say where every record is without storing a position,
 * a write that was never committed is simply overwritten by the next one at
 * the same offset, and retention frees space by deleting whole segments.
 *
 * Durability: a write returns once the bytes are in the kernel's page cache,
 * which a kill -9 of the daemon keeps. Against a power cut: every
 * DATA_SYNC_BYTES written, the segments written since are fdatasynced in the
 * background (segment-sync.ts); `syncDirty` fdatasyncs the rest at once (the
 * journal calls it inside every fsynced commit); `synced` waits for it
 * without blocking (an exec or a terminal calls it before recording its end).
 *
 * Large writes and reads (DATA_DIRECT_MIN_BYTES and up: streaming output)
 * bypass the page cache (O_DIRECT), where the filesystem allows it: on this
 * machine a file took fresh data through the page cache at 0.4-0.5 GB/s, with
 * the kernel's page allocation on the daemon's CPU, and directly at 1.4-1.5
 * GB/s. Direct I/O moves whole blocks from aligned memory (direct-blocks.ts).
 * Small writes (an echoed keystroke) stay in the page cache, as the device's
 * round trip would delay them; the kernel keeps both kinds coherent.
 */
export class DataFiles {
  /** Open segment files by `${journalId}.${segment}`, least recently used first. */
  private readonly fds = new Map<string, number>();
  /** Which segments were written since their last sync, and their syncing. */
  private readonly sync: SegmentSync;
  /** Segments with reads or writes in flight on the thread pool, how many; and descriptors closed meanwhile, to close once they are done. */
  private readonly writing = new Map<string, number>();
  private readonly closeAfterWrites = new Map<string, number[]>();
  private made = false;
  /** Direct descriptors of segments, by key (opened beside the buffered ones, closed with them); undefined once the filesystem refused O_DIRECT. */
  private direct: Map<string, number> | undefined = new Map();
  /** Per segment: its last partial block as the last write left it, for the next direct write to start from. */
  private readonly tails = new BlockTails();
  /** Aligned memory for composing direct writes on the thread pool, one per writeAsync under way (kept for the next ones), and on the daemon's thread (with the block a write starts in, read back). */
  private readonly poolStaging: AlignedMemory[] = [];
  private readonly threadStaging = new AlignedMemory();
  /** Per segment: the writes of writeAsync under way, the blocks each covers, and when it is done. */
  private readonly flying = new Map<string, { readonly from: number; readonly to: number; readonly done: Promise<void> }[]>();
  /** Aligned memory for reads on the thread pool, one per read in flight (at most DIRECT_READS_AT_ONCE), kept for the next ones. */
  private readonly readStaging: AlignedMemory[] = [];
  private readStagingMade = 0;

  /** The room output may take, a reserve kept for the daemon's state. */
  private readonly room: DiskRoom;

  constructor(private readonly dir: string) {
    this.room = new DiskRoom(dir);
    this.sync = new SegmentSync(dir);
  }

  /** Writes each `data` at journal offset `offset` of journal `journalId`, blocking. */
  write(writes: readonly DataWrite[]): void {
    const bytes = this.claim(writes);
    for (const run of runs(writes)) {
      if (!this.writeDirect(run)) {
        const fd = this.fd(run.key, true);
        this.tails.keep(run);
        for (const part of run.parts) {
          for (let done = 0; done < part.length; ) done += writeSync(fd, part.data, part.from + done, part.length - done, part.position + done);
        }
      }
      this.sync.touched(run.key);
    }
    this.sync.wrote(bytes);
  }

  /**
   * Writes as `write` does, on the thread pool: the daemon goes on while the
   * kernel takes the bytes. Calls may overlap (the next commit's output is
   * written while the last one's transaction runs): each lays its bytes out
   * in the order of the calls, and a write waits for the writes under way
   * to the blocks it shares with them (the next write's first block is the
   * last one's partial block, with more bytes).
   */
  async writeAsync(writes: readonly DataWrite[]): Promise<void> {
    const bytes = this.claim(writes);
    const all = runs(writes);
    const staging = this.poolStaging.pop() ?? new AlignedMemory();
    staging.reserve(all.reduce((n, run) => n + blockSpan(run), 0));
    let at = 0;
    const stage = (bytes: number): Buffer => staging.view((at += bytes) - bytes, bytes);
    try {
      await Promise.all(all.map((run) => this.writeRun(run, stage)));
    } finally {
      // A burst (many processes streaming at once) does not keep its staging for good.
      staging.releaseAbove(STAGING_KEPT_BYTES);
      this.poolStaging.push(staging);
    }
    this.sync.wrote(bytes);
  }

  /** One run of a writeAsync call, in the order of the calls (see there). */
  private async writeRun(run: Run, stage: (bytes: number) => Buffer): Promise<void> {
    const from = blockStart(run.position);
    const to = roundUp(run.position + run.length);
    const under = (this.flying.get(run.key) ?? []).filter((w) => w.from < to && w.to > from);
    let landed!: () => void;
    const write = { from, to, done: new Promise<void>((resolve) => (landed = resolve)) };
    this.flying.set(run.key, [...(this.flying.get(run.key) ?? []), write]);
    this.busy(run.key, +1);
    try {
      // The bytes before the run in its first block: kept from the last write, else read back once nothing is writing them.
      if (run.position > from && !this.tails.holds(run.key, from)) await Promise.all(under.map((w) => w.done));
      if (!this.useDirect(run)) return await this.writeBuffered(run, under);
      const blocks = this.tails.layout(run, stage, (position) => this.readBlock(run.key, position));
      const fd = this.directFd(run.key)!;
      const before = Promise.all(under.map((w) => w.done));
      try {
        if (under.every((w) => w.to <= from + BLOCK_BYTES)) {
          // Only the first block is shared: it waits, the rest goes now.
          const rest = after(blocks, BLOCK_BYTES);
          await Promise.all([before.then(() => this.writevAt(run.key, fd, [blocks[0]!.subarray(0, BLOCK_BYTES)], from)), rest.length > 0 ? this.writevAt(run.key, fd, rest, from + BLOCK_BYTES) : undefined]);
        } else {
          await before;
          await this.writevAt(run.key, fd, blocks, from);
        }
      } catch (error) {
        if (!this.refusesDirect(error)) throw error;
        await this.writeBuffered(run, under);
      }
    } finally {
      this.flying.set(run.key, this.flying.get(run.key)!.filter((w) => w !== write));
      if (this.flying.get(run.key)!.length === 0) this.flying.delete(run.key);
      this.busy(run.key, -1);
      landed();
    }
  }

  /** A run through the page cache, once the writes under way to its blocks are done. */
  private async writeBuffered(run: Run, under: readonly { readonly done: Promise<void> }[]): Promise<void> {
    this.tails.keep(run);
    await Promise.all(under.map((w) => w.done));
    const fd = this.fd(run.key, true);
    await Promise.all(run.parts.map((part) => this.writevAt(run.key, fd, [Buffer.from(part.data.buffer, part.data.byteOffset + part.from, part.length)], part.position)));
  }

  /**
   * Reads `length` bytes from journal offset `offset` (bytes written before,
   * and not dropped), blocking, through the page cache: for small reads (a
   * page of a terminal's output, the first look at a block of records); the
   * large ones of a reader behind the tail take readAsync.
   */
  read(journalId: number, offset: number, length: number): Buffer {
    const out = Buffer.allocUnsafe(length);
    for (const piece of pieces(journalId, offset, length)) {
      let got = 0;
      try {
        got = readAll(this.fd(piece.key, false), out, piece.from, piece.length, piece.position);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      }
      if (got < piece.length) throw lost(this.dir, piece.key, offset + piece.from + got);
    }
    return out;
  }

  /**
   * Reads as `read` does, the large pieces past the page cache, on the thread
   * pool (a direct read waits for the device: on the daemon's thread it held
   * up everything else for ~0.9 s per GiB read).
   */
  async readAsync(journalId: number, offset: number, length: number): Promise<Buffer> {
    const out = Buffer.allocUnsafe(length);
    for (const piece of pieces(journalId, offset, length)) {
      let got = 0;
      try {
        const fd = this.fd(piece.key, false);
        // Past the page cache when large, and while fewer than DIRECT_READS_AT_ONCE such reads are under way.
        const direct = piece.length >= DATA_DIRECT_MIN_BYTES && this.readStagingFree() ? this.directFd(piece.key) : undefined;
        got =
          direct === undefined
            ? readAll(fd, out, piece.from, piece.length, piece.position)
            : await this.readDirectAsync(piece.key, direct, out, piece.from, piece.length, piece.position).catch((error: unknown) => {
                if (!this.refusesDirect(error)) throw error;
                return readAll(this.fd(piece.key, false), out, piece.from, piece.length, piece.position);
              });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      }
      if (got < piece.length) throw lost(this.dir, piece.key, offset + piece.from + got);
    }
    return out;
  }

  /** fdatasyncs, blocking, every segment written since its last sync. */
  syncDirty(): void {
    this.sync.syncNow((key) => this.fds.get(key));
  }

  /** Resolves once every byte written so far is on disk, without blocking the daemon. */
  synced(): Promise<void> {
    return this.sync.synced();
  }

  /**
   * Deletes the segments that hold only bytes below `to`, from the one
   * holding `from` on (the journal's first offset before and after a trim),
   * on the thread pool: deleting a 16 MiB segment held the daemon's thread
   * ~4 ms (a terminal's flood drops one every 16 MiB). Its bytes are no
   * longer the journal's already, and a failure is logged: the file is left.
   */
  drop(journalId: number, from: number, to: number): void {
    for (let segment = Math.floor(from / DATA_SEGMENT_BYTES); segment < Math.floor(to / DATA_SEGMENT_BYTES); segment++) {
      const key = `${journalId}.${segment}`;
      this.closeFd(key);
      this.sync.forget(key);
      const path = join(this.dir, key);
      unlink(path, (error) => {
        if (error !== null && error.code !== "ENOENT") log(`could not delete ${path}, whose bytes the journal no longer holds: ${error.message}`);
      });
    }
  }

  /** Syncs and closes every file. */
  close(): void {
    this.syncDirty();
    for (const key of [...this.fds.keys()]) this.closeFd(key);
  }

  /** Whether large writes and reads still bypass the page cache (the filesystem has not refused direct I/O). */
  get bypassesPageCache(): boolean {
    return this.direct !== undefined;
  }

  /** Writes `buffers` one after the other from `position`, on the thread pool. */
  private async writevAt(key: string, fd: number, buffers: Buffer[], position: number): Promise<void> {
    this.busy(key, +1);
    try {
      while (buffers.length > 0) {
        const { bytesWritten } = await writevAsyncAt(fd, buffers, position);
        position += bytesWritten;
        buffers = after(buffers, bytesWritten);
      }
      this.sync.touched(key);
    } finally {
      this.busy(key, -1);
    }
  }

  /** Whether a run goes to its segment directly: large enough, and the filesystem takes O_DIRECT. */
  private useDirect(run: Run): boolean {
    return run.length >= DATA_DIRECT_MIN_BYTES && this.directFd(run.key) !== undefined;
  }

  /** Writes `run` directly when it should (see useDirect); false when it is left to the page cache. */
  private writeDirect(run: Run): boolean {
    if (!this.useDirect(run)) return false;
    this.threadStaging.reserve(blockSpan(run));
    let at = 0;
    const stage = (bytes: number): Buffer => this.threadStaging.view((at += bytes) - bytes, bytes);
    let blocks = this.tails.layout(run, stage, (position) => this.readBlock(run.key, position));
    try {
      const fd = this.directFd(run.key)!;
      for (let position = blockStart(run.position); blocks.length > 0; ) {
        const written = writevSync(fd, blocks, position);
        position += written;
        blocks = after(blocks, written);
      }
      return true;
    } catch (error) {
      if (!this.refusesDirect(error)) throw error;
      return false;
    }
  }

  /**
   * A filesystem may open a file for direct I/O and then refuse the I/O
   * itself (EINVAL: alignment it needs larger than a block, or no direct
   * I/O after all): from then on everything goes through the page cache.
   */
  private refusesDirect(error: unknown): boolean {
    if ((error as NodeJS.ErrnoException).code !== "EINVAL" || this.direct === undefined) return false;
    log(`journal data files: ${this.dir} refused direct I/O (${(error as Error).message}); all output goes through the page cache`);
    for (const key of this.direct.keys()) this.closeFd(key);
    this.direct = undefined;
    this.tails.forgetAll();
    return true;
  }

  /** One block of a segment as it is on disk (zeros past its end). */
  private readBlock(key: string, position: number): Buffer {
    const block = Buffer.alloc(BLOCK_BYTES);
    const fd = this.directFd(key)!;
    const staged = this.threadStaging.view(0, BLOCK_BYTES);
    const n = readSync(fd, staged, 0, BLOCK_BYTES, position);
    staged.copy(block, 0, 0, n);
    return block;
  }

  /**
   * Reads through the direct descriptor, on the thread pool: whole blocks
   * into aligned memory of its own (several readers may read at once), then
   * the bytes asked for; returns how many there were. The segment's
   * descriptors stay open meanwhile.
   */
  private async readDirectAsync(key: string, fd: number, out: Buffer, from: number, length: number, position: number): Promise<number> {
    const memory = this.readStaging.pop() ?? (this.readStagingMade++, new AlignedMemory());
    this.busy(key, +1);
    try {
      let got = 0;
      for (let block = blockStart(position); got < length; ) {
        const span = Math.min(roundUp(position + length) - block, DIRECT_READ_BYTES);
        const staged = memory.view(0, span);
        let n = 0;
        while (n < span) {
          const { bytesRead } = await readAsyncAt(fd, staged, n, span - n, block + n);
          if (bytesRead === 0) break;
          n += bytesRead;
        }
        const skip = Math.max(0, position - block);
        const take = Math.min(Math.max(0, n - skip), length - got);
        staged.copy(out, from + got, skip, skip + take);
        got += take;
        if (n < span) break;
        block += span;
      }
      return got;
    } finally {
      this.busy(key, -1);
      this.readStaging.push(memory);
    }
  }

  /** Whether a direct read may start now: aligned memory is kept for a few at once (each WebAssembly memory reserves a large address range). */
  private readStagingFree(): boolean {
    return this.readStaging.length > 0 || this.readStagingMade < DIRECT_READS_AT_ONCE;
  }

  /** Counts the operations in flight on a segment's descriptors; once none is left, closes those closed meanwhile. */
  private busy(key: string, change: 1 | -1): void {
    const left = (this.writing.get(key) ?? 0) + change;
    if (left > 0) return void this.writing.set(key, left);
    this.writing.delete(key);
    for (const closed of this.closeAfterWrites.get(key) ?? []) closeSync(closed);
    this.closeAfterWrites.delete(key);
  }

  /** The segment's O_DIRECT descriptor, opened beside its buffered one; undefined where the filesystem refuses direct I/O. */
  private directFd(key: string): number | undefined {
    if (this.direct === undefined) return undefined;
    let fd = this.direct.get(key);
    if (fd !== undefined) return fd;
    this.fd(key, true);
    try {
      fd = openSync(join(this.dir, key), constants.O_RDWR | constants.O_DIRECT, 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EINVAL") throw error;
      log(`journal data files: ${this.dir} does not take direct I/O (${(error as Error).message}); all output goes through the page cache`);
      this.direct = undefined;
      return undefined;
    }
    this.direct.set(key, fd);
    return fd;
  }

  /** The bytes `writes` carry, taken from the room output may have (throws ENOSPC past it). */
  private claim(writes: readonly DataWrite[]): number {
    this.ensureDir();
    const bytes = writes.reduce((n, w) => n + w.data.byteLength, 0);
    this.room.take(bytes);
    return bytes;
  }

  private ensureDir(): void {
    if (this.made) return;
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    this.made = true;
  }

  private fd(key: string, create: boolean): number {
    let fd = this.fds.get(key);
    if (fd !== undefined) {
      this.fds.delete(key);
      this.fds.set(key, fd);
      return fd;
    }
    if (create) this.ensureDir();
    // Read-write without O_APPEND: writes go to the position given, so a rolled-back write is overwritten.
    fd = openSync(join(this.dir, key), create ? constants.O_RDWR | constants.O_CREAT : constants.O_RDWR, 0o600);
    this.fds.set(key, fd);
    for (const old of this.fds.keys()) {
      if (this.fds.size <= DATA_FILES_MAX_OPEN) break;
      this.closeFd(old);
    }
    return fd;
  }

  /** Closes a segment's descriptor, or once the writes in flight on it are done. */
  private closeFd(key: string): void {
    // A segment being written keeps its tail: the next write in flight counts on it.
    if (!this.writing.has(key)) this.tails.forget(key);
    const fds = [this.fds.get(key), this.direct?.get(key)].filter((fd): fd is number => fd !== undefined);
    this.fds.delete(key);
    this.direct?.delete(key);
    if (this.writing.has(key)) this.closeAfterWrites.set(key, [...(this.closeAfterWrites.get(key) ?? []), ...fds]);
    else for (const fd of fds) closeSync(fd);
  }
}

const writevAsyncAt = promisify(writevFd);

/** What is left of `buffers` once `bytes` of them are written (a write that wrote nothing is an error). */
function after(buffers: Buffer[], bytes: number): Buffer[] {
  if (bytes <= 0) throw new Error("journal data files: a write wrote nothing");
  return partsFrom(buffers, bytes);
}
const readAsyncAt = promisify(readFd);

/** A direct read goes through the daemon's aligned memory this much at a time. */
const DIRECT_READ_BYTES = 4 * 1024 * 1024;
/** Aligned memory kept between commits for composing their writes: one streaming process's commit (4 MiB) and room; more is let go after its commit. */
const STAGING_KEPT_BYTES = 8 * 1024 * 1024;
/** Direct reads under way at once; more readers behind the tail read through the page cache meanwhile. */
const DIRECT_READS_AT_ONCE = 4;

/** Reads until `length` bytes or the end of the file; returns how many. */
function readAll(fd: number, out: Uint8Array, from: number, length: number, position: number): number {
  let got = 0;
  while (got < length) {
    const n = readSync(fd, out, from + got, length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return got;
}

function lost(dir: string, key: string, offset: number): TetherError {
  return new TetherError(
    Code.DataLoss,
    "STORE_FAILED",
    `the output at byte ${offset} is missing from ${join(dir, key)} (the machine lost power before it reached the disk, or the file was changed outside tether): read from a later offset`,
    { path: join(dir, key), offset: String(offset) },
  );
}
