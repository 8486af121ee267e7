import { Code } from "@connectrpc/connect";
import { closeSync, constants, fdatasyncSync, mkdirSync, openSync, readSync, unlinkSync, write as writeFd, writeSync } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { TetherError } from "../errors.js";
import { log } from "../log.js";
import { DATA_FILES_MAX_OPEN, DATA_SEGMENT_BYTES, DATA_SYNC_BYTES } from "./limits.js";

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
 * background (libuv's thread pool, so the disk works while the daemon goes
 * on); `syncDirty` fdatasyncs the rest at once (the journal calls it inside
 * every fsynced commit); `synced` waits for it without blocking (an exec or a
 * terminal calls it before recording its end).
 */
export class DataFiles {
  /** Open segment files by `${journalId}.${segment}`, least recently used first. */
  private readonly fds = new Map<string, number>();
  /** Segments written since their last sync began, and how many bytes. */
  private dirty = new Set<string>();
  private dirtyBytes = 0;
  /** The background sync in flight, and the segments it syncs. */
  private syncing: { readonly keys: ReadonlySet<string>; readonly done: Promise<void> } | undefined;
  /** Segments with writes in flight on the thread pool, how many; and descriptors closed meanwhile, to close once they are done. */
  private readonly writing = new Map<string, number>();
  private readonly closeAfterWrites = new Map<string, number[]>();
  private made = false;

  constructor(private readonly dir: string) {}

  /** Writes `data` at journal offset `offset` of journal `journalId`, blocking. */
  write(journalId: number, offset: number, data: Uint8Array): void {
    for (const piece of pieces(journalId, offset, data.byteLength)) {
      const fd = this.fd(piece.key, true);
      let written = 0;
      while (written < piece.length) written += writeSync(fd, data, piece.from + written, piece.length - written, piece.position + written);
      this.dirty.add(piece.key);
    }
    this.wrote(data.byteLength);
  }

  /** Writes as `write` does, on the thread pool: the daemon goes on while the kernel takes the bytes. */
  async writeAsync(journalId: number, offset: number, data: Uint8Array): Promise<void> {
    await Promise.all(pieces(journalId, offset, data.byteLength).map((piece) => this.writePiece(piece, data)));
    this.wrote(data.byteLength);
  }

  /** Reads `length` bytes from journal offset `offset` (bytes written before, and not dropped). */
  read(journalId: number, offset: number, length: number): Buffer {
    const out = Buffer.allocUnsafe(length);
    for (const piece of pieces(journalId, offset, length)) {
      let got = 0;
      try {
        const fd = this.fd(piece.key, false);
        while (got < piece.length) {
          const n = readSync(fd, out, piece.from + got, piece.length - got, piece.position + got);
          if (n === 0) break;
          got += n;
        }
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      }
      if (got < piece.length) throw lost(this.dir, piece.key, offset + piece.from + got);
    }
    return out;
  }

  /** fdatasyncs, blocking, every segment written since its last sync. */
  syncDirty(): void {
    for (const key of new Set([...this.dirty, ...(this.syncing?.keys ?? [])])) {
      const fd = this.fds.get(key);
      if (fd !== undefined) fdatasyncSync(fd);
      else syncFileNow(join(this.dir, key));
    }
    this.dirty.clear();
    this.dirtyBytes = 0;
  }

  /** Resolves once every byte written so far is on disk, without blocking the daemon. */
  async synced(): Promise<void> {
    for (const key of new Set([...this.dirty, ...(this.syncing?.keys ?? [])])) await syncFile(join(this.dir, key));
  }

  /** Deletes the segments that hold only bytes below `to`, from the one holding `from` on (the journal's first offset before and after a trim). */
  drop(journalId: number, from: number, to: number): void {
    for (let segment = Math.floor(from / DATA_SEGMENT_BYTES); segment < Math.floor(to / DATA_SEGMENT_BYTES); segment++) {
      const key = `${journalId}.${segment}`;
      this.closeFd(key);
      this.dirty.delete(key);
      try {
        unlinkSync(join(this.dir, key));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      }
    }
  }

  /** Syncs and closes every file. */
  close(): void {
    this.syncDirty();
    for (const key of [...this.fds.keys()]) this.closeFd(key);
  }

  private async writePiece(piece: Piece, data: Uint8Array): Promise<void> {
    const fd = this.fd(piece.key, true);
    this.writing.set(piece.key, (this.writing.get(piece.key) ?? 0) + 1);
    try {
      let written = 0;
      while (written < piece.length) {
        const { bytesWritten } = await writeAt(fd, data, piece.from + written, piece.length - written, piece.position + written);
        written += bytesWritten;
      }
      this.dirty.add(piece.key);
    } finally {
      const left = this.writing.get(piece.key)! - 1;
      if (left > 0) this.writing.set(piece.key, left);
      else {
        this.writing.delete(piece.key);
        for (const closed of this.closeAfterWrites.get(piece.key) ?? []) closeSync(closed);
        this.closeAfterWrites.delete(piece.key);
      }
    }
  }

  private wrote(bytes: number): void {
    this.dirtyBytes += bytes;
    if (this.dirtyBytes >= DATA_SYNC_BYTES && this.syncing === undefined) this.syncInBackground();
  }

  /** Syncs the segments written so far on the thread pool; when it is done and enough was written meanwhile, starts again. */
  private syncInBackground(): void {
    const keys = this.dirty;
    this.dirty = new Set();
    this.dirtyBytes = 0;
    const done = (async () => {
      for (const key of keys) await syncFile(join(this.dir, key));
    })().then(
      () => undefined,
      (error: unknown) => log(`journal data files: background sync failed: ${(error as Error).message}`),
    );
    this.syncing = { keys, done };
    void done.then(() => {
      this.syncing = undefined;
      if (this.dirtyBytes >= DATA_SYNC_BYTES) this.syncInBackground();
    });
  }

  private fd(key: string, create: boolean): number {
    let fd = this.fds.get(key);
    if (fd !== undefined) {
      this.fds.delete(key);
      this.fds.set(key, fd);
      return fd;
    }
    if (create && !this.made) {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      this.made = true;
    }
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
    const fd = this.fds.get(key);
    if (fd === undefined) return;
    this.fds.delete(key);
    if (this.writing.has(key)) this.closeAfterWrites.set(key, [...(this.closeAfterWrites.get(key) ?? []), fd]);
    else closeSync(fd);
  }
}

const writeAt = promisify(writeFd);

/** Where `length` bytes from journal offset `offset` go: one piece per segment they fall in. */
interface Piece {
  readonly key: string;
  /** Where in the segment file. */
  readonly position: number;
  /** Where in the data. */
  readonly from: number;
  readonly length: number;
}

function pieces(journalId: number, offset: number, length: number): Piece[] {
  const out: Piece[] = [];
  for (let from = 0; from < length; ) {
    const segment = Math.floor((offset + from) / DATA_SEGMENT_BYTES);
    const position = offset + from - segment * DATA_SEGMENT_BYTES;
    const size = Math.min(length - from, DATA_SEGMENT_BYTES - position);
    out.push({ key: `${journalId}.${segment}`, position, from, length: size });
    from += size;
  }
  return out;
}

/** fdatasyncs a file through a descriptor of its own (a sync covers the file, whichever descriptor asks); a file deleted meanwhile needs none. */
async function syncFile(path: string): Promise<void> {
  let handle;
  try {
    handle = await open(path, "r");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
    throw error;
  }
  try {
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

function syncFileNow(path: string): void {
  let fd;
  try {
    fd = openSync(path, "r");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
    throw error;
  }
  try {
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function lost(dir: string, key: string, offset: number): TetherError {
  return new TetherError(
    Code.DataLoss,
    "STORE_FAILED",
    `the output at byte ${offset} is missing from ${join(dir, key)} (the machine lost power before it reached the disk, or the file was changed outside tether): read from a later offset`,
    { path: join(dir, key), offset: String(offset) },
  );
}
