import { log } from "../log.js";
import type { JournalTables } from "./journal-tables.js";

/**
 * Deletes the records of removed journals that JournalTables.remove left
 * (their removal stored with the journal's row), REMOVAL_RECORDS_PER_COMMIT
 * to a commit through `store`, so other commits go between, until none is
 * left or it is stopped. The commits are not fsynced: a power cut loses only
 * work the next start does again.
 */
export class RecordPurge {
  private running = false;
  private stopped = false;

  constructor(
    private readonly tables: JournalTables,
    private readonly store: (write: () => void) => Promise<void>,
  ) {}

  /** Deletes what is left to delete, unless it is under way already. */
  start(): void {
    if (this.running || this.stopped) return;
    this.running = true;
    void (async () => {
      for (let removals = this.tables.removals(); removals.length > 0 && !this.stopped; removals = this.tables.removals()) {
        for (const removal of removals) {
          let more = true;
          while (more && !this.stopped) await this.store(() => (more = this.tables.purgeRecords(removal)));
        }
      }
    })()
      .catch((error: unknown) => {
        if (!this.stopped) log(`journal: could not delete removed journals' records (the next start goes on): ${(error as Error).message}`);
      })
      .finally(() => (this.running = false));
  }

  /** Stops after the commit under way (the daemon is stopping: the next start goes on). */
  stop(): void {
    this.stopped = true;
  }
}
