/**
 * Schema migrations, applied in order; PRAGMA user_version records how many
 * have run. Append new entries, never edit a shipped one.
 */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE journals (
    id             INTEGER PRIMARY KEY,
    name           TEXT    NOT NULL UNIQUE,
    first_seq      INTEGER NOT NULL,
    next_seq       INTEGER NOT NULL,
    first_offset   INTEGER NOT NULL,
    next_offset    INTEGER NOT NULL,
    max_bytes      INTEGER NOT NULL,
    max_age_ms     INTEGER NOT NULL,
    created_at     INTEGER NOT NULL
  );
  CREATE TABLE journal_records (
    journal_id  INTEGER NOT NULL REFERENCES journals(id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    offset      INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    meta        TEXT,
    data        BLOB    NOT NULL
  );
  CREATE UNIQUE INDEX journal_records_by_seq ON journal_records(journal_id, seq);
  CREATE INDEX journal_records_by_offset ON journal_records(journal_id, offset);
  `,
];
