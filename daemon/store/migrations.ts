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
  `
  -- seq orders sessions by creation: newest-first pages are keyset scans.
  CREATE TABLE sessions (
    seq          INTEGER PRIMARY KEY,
    id           TEXT    NOT NULL UNIQUE,
    task         TEXT    NOT NULL,
    status       TEXT    NOT NULL,
    external_id  TEXT    UNIQUE,
    spec         TEXT    NOT NULL,
    result       TEXT,
    error        TEXT,
    exit_code    INTEGER,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    ended_at     INTEGER
  );
  CREATE INDEX sessions_by_status ON sessions (status, seq);
  CREATE INDEX sessions_by_task ON sessions (task, seq);
  CREATE TABLE runs (
    session_seq  INTEGER NOT NULL,
    number       INTEGER NOT NULL,
    task         TEXT    NOT NULL,
    attempt      INTEGER NOT NULL,
    status       TEXT    NOT NULL,
    pid          INTEGER,
    started_at_ticks INTEGER,
    exit_code    INTEGER,
    reason       TEXT    NOT NULL,
    command      TEXT    NOT NULL,
    transitions  TEXT    NOT NULL,
    PRIMARY KEY (session_seq, number)
  ) WITHOUT ROWID;
  CREATE TABLE xcom (
    session_seq  INTEGER NOT NULL,
    key          TEXT    NOT NULL,
    value        TEXT    NOT NULL,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (session_seq, key)
  ) WITHOUT ROWID;
  `,
  `
  -- Idempotency keys of stream sends: a repeated key returns the first record.
  CREATE TABLE stream_keys (
    session_seq  INTEGER NOT NULL,
    stream       TEXT    NOT NULL,
    key          TEXT    NOT NULL,
    seq          INTEGER NOT NULL,
    PRIMARY KEY (session_seq, stream, key)
  ) WITHOUT ROWID;
  -- Input records taken by a wait (or fed to a run's stdin): each at most once.
  CREATE TABLE stream_takes (
    session_seq  INTEGER NOT NULL,
    stream       TEXT    NOT NULL,
    seq          INTEGER NOT NULL,
    run          INTEGER NOT NULL,
    taken_at     INTEGER NOT NULL,
    PRIMARY KEY (session_seq, stream, seq)
  ) WITHOUT ROWID;
  `,
  `
  -- seq orders workspaces by creation; names are unique among active ones.
  CREATE TABLE workspaces (
    seq          INTEGER PRIMARY KEY,
    id           TEXT    NOT NULL UNIQUE,
    name         TEXT    NOT NULL,
    root         TEXT    NOT NULL,
    adopted      INTEGER NOT NULL,
    sandbox      TEXT    NOT NULL,
    no_network   INTEGER NOT NULL,
    labels       TEXT    NOT NULL,
    state        TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    deleted_at   INTEGER
  );
  CREATE UNIQUE INDEX workspaces_active_name ON workspaces (name) WHERE state = 'active';
  -- seq orders execs by start; the output lives in the exec's journal.
  CREATE TABLE execs (
    seq            INTEGER PRIMARY KEY,
    id             TEXT    NOT NULL UNIQUE,
    workspace_seq  INTEGER NOT NULL,
    argv           TEXT    NOT NULL,
    cwd            TEXT    NOT NULL,
    env_keys       TEXT    NOT NULL,
    tty            INTEGER NOT NULL,
    status         TEXT    NOT NULL,
    pid            INTEGER,
    start_ticks    INTEGER,
    exit_code      INTEGER,
    signal         TEXT,
    error          TEXT,
    stdout_bytes   INTEGER NOT NULL,
    stderr_bytes   INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    ended_at       INTEGER
  );
  CREATE INDEX execs_by_workspace ON execs (workspace_seq, seq);
  CREATE INDEX execs_running ON execs (status) WHERE status = 'running';
  `,
  `
  -- seq orders PTYs by opening; the output lives in the PTY's journal.
  CREATE TABLE ptys (
    seq            INTEGER PRIMARY KEY,
    id             TEXT    NOT NULL UNIQUE,
    workspace_seq  INTEGER NOT NULL,
    argv           TEXT    NOT NULL,
    cwd            TEXT    NOT NULL,
    cols           INTEGER NOT NULL,
    rows           INTEGER NOT NULL,
    size_policy    TEXT    NOT NULL,
    status         TEXT    NOT NULL,
    pid            INTEGER,
    start_ticks    INTEGER,
    exit_code      INTEGER,
    signal         TEXT,
    error          TEXT,
    created_at     INTEGER NOT NULL,
    ended_at       INTEGER
  );
  CREATE INDEX ptys_by_workspace ON ptys (workspace_seq, seq);
  CREATE INDEX ptys_running ON ptys (status) WHERE status = 'running';
  `,
  `
  -- A session's spec (the task file's definition it ran, 100 KB for a graph of
  -- a thousand tasks) in a table of its own: SQLite rewrites a whole row on
  -- every UPDATE, and a session's row changes with each of its runs' transitions.
  CREATE TABLE session_specs (
    seq   INTEGER PRIMARY KEY,
    spec  TEXT    NOT NULL
  );
  INSERT INTO session_specs (seq, spec) SELECT seq, spec FROM sessions;
  ALTER TABLE sessions DROP COLUMN spec;
  `,
  `
  -- Journals can be removed (an exec's output, with the exec): their ids are
  -- never given again, so a new journal never meets a removed one's data
  -- files (deleted after the commit that removed it, or at the next start).
  CREATE TABLE journals_v2 (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    name           TEXT    NOT NULL UNIQUE,
    first_seq      INTEGER NOT NULL,
    next_seq       INTEGER NOT NULL,
    first_offset   INTEGER NOT NULL,
    next_offset    INTEGER NOT NULL,
    max_bytes      INTEGER NOT NULL,
    max_age_ms     INTEGER NOT NULL,
    created_at     INTEGER NOT NULL
  );
  INSERT INTO journals_v2 SELECT * FROM journals;
  DROP TABLE journals;
  ALTER TABLE journals_v2 RENAME TO journals;
  `,
  `
  -- Removed journals whose records are still being deleted, a few thousand
  -- per commit (a million at once held the daemon ~0.7 s): from_seq is the
  -- first record left, next_seq the end.
  CREATE TABLE journal_removals (
    id        INTEGER PRIMARY KEY,
    from_seq  INTEGER NOT NULL,
    next_seq  INTEGER NOT NULL
  );
  `,
  `
  -- A PTY's name (tmux new -s NAME), unique among open PTYs; NULL: none.
  ALTER TABLE ptys ADD COLUMN name TEXT;
  CREATE INDEX ptys_by_name ON ptys (name) WHERE name IS NOT NULL;
  `,
  `
  -- A session's labels (tether run --label k=v), a JSON object; NULL: none.
  ALTER TABLE sessions ADD COLUMN labels TEXT;
  `,
  `
  -- An exec's name (docker run --name), unique among running execs; NULL: none.
  ALTER TABLE execs ADD COLUMN name TEXT;
  CREATE INDEX execs_by_name ON execs (name) WHERE name IS NOT NULL;
  `,
  `
  -- What an exec was started with beyond its row's columns (its cwd as asked,
  -- its env's values, stdin, terminal size, output limit), a JSON object, to
  -- start it again (exec restart); NULL for an exec started before.
  ALTER TABLE execs ADD COLUMN restart TEXT;
  `,
  `
  -- An exec's labels (tether exec --label k=v), a JSON object; NULL: none.
  ALTER TABLE execs ADD COLUMN labels TEXT;
  `,
  `
  -- A PTY's labels (tether pty --label k=v), a JSON object; NULL: none.
  ALTER TABLE ptys ADD COLUMN labels TEXT;
  `,
  `
  -- A workspace's environment (tether ws create --env K=V), a JSON object of
  -- the variables every process started in it gets; NULL: none.
  ALTER TABLE workspaces ADD COLUMN env TEXT;
  `,
  `
  -- Queues (tether exec --queue Q, a task's queue: Q; as pueue's groups):
  -- how many of a queue's members may run at once, once set (1 until then),
  -- and whether it is paused (none of its waiting ones starts). An exec waiting
  -- in one has status 'queued' (its queue in its restart column) and
  -- started_at NULL; started_at is when its process started, set only for
  -- one that waited (else its created_at).
  CREATE TABLE queues (
    name      TEXT    PRIMARY KEY,
    parallel  INTEGER NOT NULL,
    paused    INTEGER NOT NULL
  ) WITHOUT ROWID;
  ALTER TABLE execs ADD COLUMN started_at INTEGER;
  CREATE INDEX execs_live ON execs (seq) WHERE status IN ('running', 'queued');
  `,
  `
  -- An exec's readiness (tether exec --ready-http ..., its checks in its
  -- restart column): when they first passed, and why they gave up (its
  -- readiness timeout passed); NULL: not (yet).
  ALTER TABLE execs ADD COLUMN ready_at INTEGER;
  ALTER TABLE execs ADD COLUMN readiness_error TEXT;
  `,
];
