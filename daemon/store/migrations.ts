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
  -- One B-tree for all records: key = journal_id << 32 | seq. Appends touch
  -- one tree instead of a table plus indexes, and a journal's records are one
  -- contiguous key range. Offsets grow with seq, so offset lookups are binary
  -- searches over point reads.
  CREATE TABLE journal_records (
    key         INTEGER PRIMARY KEY,
    offset      INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    meta        TEXT,
    data        BLOB    NOT NULL
  );
  `,
];
