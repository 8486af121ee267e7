import { closeSync, fdatasyncSync, openSync } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import { log } from "../log.js";
import { DATA_SYNC_BYTES } from "./limits.js";

/**
 * Which segment files of data-files.ts were written since their last
 * fdatasync, and their syncing: every DATA_SYNC_BYTES written, those
 * written since are synced in the background (libuv's thread pool, so the
 * disk works while the daemon goes on); `syncNow` syncs the rest at once
 * (inside every fsynced commit) and `synced` waits for it without blocking.
 */
export class SegmentSync {
  /** Segments written since their last sync began, and how many bytes. */
  private dirty = new Set<string>();
  private dirtyBytes = 0;
  /** The background sync in flight, and the segments it syncs. */
  private syncing: { readonly keys: ReadonlySet<string>; readonly done: Promise<void> } | undefined;
  /** `synced` calls in flight, and the segments each syncs (no longer dirty: a write meanwhile makes them dirty again). */
  private readonly waited = new Map<Promise<void>, ReadonlySet<string>>();

  constructor(private readonly dir: string) {}

  /** Segment `key` was written to: the next sync covers it. */
  touched(key: string): void {
    this.dirty.add(key);
  }

  /** Segment `key` is deleted: nothing to sync. */
  forget(key: string): void {
    this.dirty.delete(key);
  }

  /** `bytes` more were written; past DATA_SYNC_BYTES since the last sync began, a background sync starts. */
  wrote(bytes: number): void {
    this.dirtyBytes += bytes;
    if (this.dirtyBytes >= DATA_SYNC_BYTES && this.syncing === undefined) this.syncInBackground();
  }

  /** fdatasyncs, blocking, every segment written since its last sync, through its open descriptor when it has one. */
  syncNow(openFd: (key: string) => number | undefined): void {
    for (const key of this.unsynced()) {
      const fd = openFd(key);
      if (fd !== undefined) fdatasyncSync(fd);
      else syncFileNow(join(this.dir, key));
    }
    this.dirty.clear();
    this.dirtyBytes = 0;
  }

  /**
   * Resolves once every byte written so far is on disk, without blocking the
   * daemon: syncs the segments written since their last sync (which are then
   * clean, unless written again meanwhile) and waits for the syncs already
   * under way, which cover the segments they took. Until 2026-12-06 the
   * segments stayed dirty, so every exec's and PTY's end synced every
   * segment written since the last fsynced commit, again and again.
   */
  async synced(): Promise<void> {
    const keys = new Set(this.dirty);
    for (const key of keys) this.dirty.delete(key);
    const earlier = [...this.waited.keys(), this.syncing?.done];
    const mine = (async () => {
      for (const key of keys) await syncFile(join(this.dir, key));
    })();
    this.waited.set(mine, keys);
    try {
      await mine;
    } catch (error) {
      for (const key of keys) this.dirty.add(key);
      throw error;
    } finally {
      this.waited.delete(mine);
    }
    // An earlier sync that failed left its segments dirty, and they are not on disk: say so here too.
    for (const result of await Promise.allSettled(earlier)) if (result.status === "rejected") throw result.reason;
  }

  private unsynced(): Set<string> {
    const keys = new Set([...this.dirty, ...(this.syncing?.keys ?? [])]);
    for (const waiting of this.waited.values()) for (const key of waiting) keys.add(key);
    return keys;
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
