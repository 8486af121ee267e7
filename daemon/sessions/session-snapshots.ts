import type { SessionTables } from "./session-tables.js";
import type { RunRecord, SessionRecord } from "./types.js";

/** A run as it is now, for a commit that runs later (its transitions go on growing). */
export function snapshot(run: RunRecord): RunRecord {
  return { ...run, transitions: [...run.transitions] };
}

/**
 * Writes the session's row and `runs`' rows as they are now, in a commit
 * that runs later: copies are taken at once, so the commit stores this
 * moment, not whatever the live records have become by then.
 */
export function storeLater(tables: SessionTables, session: SessionRecord, runs: readonly RunRecord[]): () => void {
  const runSnapshots = runs.map(snapshot);
  const sessionSnapshot = { ...session };
  return () => {
    for (const run of runSnapshots) tables.saveRun(sessionSnapshot.seq, run);
    tables.update(sessionSnapshot);
  };
}
