import { statfsSync } from "node:fs";
import { DATA_FILES_RESERVE_BYTES } from "./limits.js";

/** Below this much room the file system is asked again before every write; above it, at most once a second. */
const RECHECK_BELOW_BYTES = 256 * 1024 * 1024;
const RECHECK_EVERY_MS = 1000;

/**
 * The room process output may take on the state dir's file system: all but
 * DATA_FILES_RESERVE_BYTES of what is free. A flood of output that fills the
 * disk would otherwise leave no room for the state changes that follow it
 * (a run's end, its session closing: a few pages of SQLite), and the session
 * would stay open in the store with nothing running. With the reserve, the
 * output that does not fit is lost (and said so), and the state is stored.
 *
 * Asking the file system (statfs) costs microseconds; while there is plenty
 * of room it is asked at most once a second, and what was written since is
 * counted off the last answer.
 */
export class DiskRoom {
  private room = 0;
  private checkedAt = -Infinity;

  constructor(private readonly dir: string) {}

  /** Takes `bytes` of the room, or throws ENOSPC (as a failed write would) when they would eat into the reserve. */
  take(bytes: number): void {
    const now = Date.now();
    if (this.room - bytes < RECHECK_BELOW_BYTES || now - this.checkedAt > RECHECK_EVERY_MS) {
      const { bavail, bsize } = statfsSync(this.dir);
      this.room = Number(bavail) * Number(bsize) - DATA_FILES_RESERVE_BYTES;
      this.checkedAt = now;
    }
    if (bytes > this.room) {
      const error = new Error(`ENOSPC: no space left on device (tether keeps ${DATA_FILES_RESERVE_BYTES / (1024 * 1024)} MiB free for its state)`) as NodeJS.ErrnoException;
      error.code = "ENOSPC";
      throw error;
    }
    this.room -= bytes;
  }
}
