import { Code } from "@connectrpc/connect";
import { closeSync, constants, fdatasyncSync, mkdirSync, openSync, readSync, unlinkSync, writeSync } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
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
  private made = false;

  constructor(private readonly dir: string) {}

  /** Writes `data` at journal offset `offset` of journal `journalId`. */
  write(journalId: number, offset: number, data: Uint8Array): void {
    let done = 0;
    while (done < data.byteLength) {
      const at = offset + done;
      const segment = Math.floor(at / DATA_SEGMENT_BYTES);
      const within = at - segment * DATA_SEGMENT_BYTES;
      const length = Math.min(data.byteLength - done, DATA_SEGMENT_BYTES - within);
      const key = `${journalId}.${segment}`;
      const fd = this.fd(key, true);
      let written = 0;
      while (written < length) written += writeSync(fd, data, done + written, length - written, within + written);
      this.dirty.add(key);
      done += length;
    }
    this.dirtyBytes += data.byteLength;
    if (this.dirtyBytes >= DATA_SYNC_BYTES && this.syncing === undefined) this.syncInBackground();
  }

  /** Reads `length` bytes from journal offset `offset` (bytes written before, and not dropped). */
  read(journalId: number, offset: number, length: number): Buffer {
    const out = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const at = offset + done;
      const segment = Math.floor(at / DATA_SEGMENT_BYTES);
      const within = at - segment * DATA_SEGMENT_BYTES;
      const want = Math.min(length - done, DATA_SEGMENT_BYTES - within);
      const key = `${journalId}.${segment}`;
      let got = 0;
      try {
        const fd = this.fd(key, false);
        while (got < want) {
          const n = readSync(fd, out, done + got, want - got, within + got);
          if (n === 0) break;
          got += n;
        }
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      }
      if (got < want) throw lost(this.dir, key, at + got);
      done += want;
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

  private closeFd(key: string): void {
    const fd = this.fds.get(key);
    if (fd === undefined) return;
    this.fds.delete(key);
    closeSync(fd);
  }
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
