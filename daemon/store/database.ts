import { Code } from "@connectrpc/connect";
import { chmodSync, closeSync, openSync } from "node:fs";
import Database from "better-sqlite3";
import { TetherError } from "../errors.js";
import { MIGRATIONS } from "./migrations.js";
import { damagedDatabase, isDamaged } from "./store-errors.js";

export type Db = Database.Database;

/**
 * Opens the daemon's one SQLite connection.
 *
 * Durability: journal_mode=WAL with synchronous=FULL, so a transaction's
 * COMMIT returns only after the WAL is fsynced. "Acknowledged" everywhere in
 * tether means "its transaction has committed": it survives kill -9 of the
 * daemon and a power cut.
 *
 * One exception, by name: a transaction run through `withoutFsync` commits
 * with synchronous=NORMAL, so its WAL frames are written (a kill -9 of the
 * daemon keeps them: they are in the kernel's page cache) but not fsynced
 * until the next ordinary commit, which fsyncs the whole WAL and so every
 * frame before it. Process output, which no client was told is durable, is
 * committed this way (its bytes are in the journal's data files, see
 * journal/data-files.ts; its rows are here); the exit status written after
 * it is an ordinary commit.
 *
 * page_size=4096, SQLite's default, stated because it is chosen: most
 * commits are small (a run's transition, an event, a stream record, the rows
 * of process output, whose bytes live in the data files), and a commit writes
 * each page it changed whole to the WAL. With 16 KiB pages a graph of 1000
 * `true` tasks wrote 90 MB and took 1,132 ms (median of 10); with 4 KiB, 27
 * MB and 1,030 ms. Large stream or journal records (blobs of up to 4 MiB)
 * store 10-25% slower than with 16 KiB pages (151 against 171 MiB/s at 256
 * KiB). It applies when the file is created: an existing database keeps the
 * page size it has.
 *
 * locking_mode=EXCLUSIVE is set before WAL is entered: the connection keeps
 * the database lock for its whole life, so a second daemon pointed at the
 * same state dir fails at once instead of writing beside the first, and no
 * shared-memory wal-index is needed.
 */
export function openDatabase(path: string): Db {
  let db: Db;
  try {
    ownerOnly(path);
    db = new Database(path);
    db.pragma("busy_timeout = 0");
    db.pragma("page_size = 4096");
    db.pragma("locking_mode = EXCLUSIVE");
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = FULL");
    db.pragma("foreign_keys = ON");
    migrate(db);
  } catch (error) {
    throw storeOpenError(path, error);
  }
  return db;
}

/**
 * Makes the database file (created empty when missing) readable and
 * writable by its owner alone, and its -wal and -shm files where they
 * exist: SQLite creates those with the database file's mode. History,
 * stream records and output are the user's, and a state dir (TETHER_HOME)
 * may be one others can enter.
 */
function ownerOnly(path: string): void {
  closeSync(openSync(path, "a", 0o600));
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    try {
      chmodSync(file, 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
  }
}

/**
 * Runs `transaction` committed without an fsync (see openDatabase): durable
 * against a crash of the daemon, and against a power cut once any later
 * ordinary commit has returned.
 */
export function withoutFsync<T>(db: Db, transaction: () => T): T {
  // Not a statement prepared once: SQLite applies `PRAGMA synchronous = N` when the
  // statement is prepared, so running a prepared one again changes nothing (tested).
  // exec, not pragma(): no statement object, a quarter of the cost (~2 µs a pair here).
  db.exec("PRAGMA synchronous = NORMAL");
  try {
    return transaction();
  } finally {
    db.exec("PRAGMA synchronous = FULL");
  }
}

function migrate(db: Db): void {
  const current = db.pragma("user_version", { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new TetherError(
      Code.FailedPrecondition,
      "STORE_FAILED",
      `the state database was written by a newer tether (schema ${current}, this daemon knows ${MIGRATIONS.length}): upgrade tether, or point TETHER_HOME at another directory`,
    );
  }
  for (let version = current; version < MIGRATIONS.length; version++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[version] as string);
      db.pragma(`user_version = ${version + 1}`);
    })();
  }
}

function storeOpenError(path: string, error: unknown): TetherError {
  if (error instanceof TetherError) return error;
  const code = (error as { code?: string }).code ?? "";
  const detail = error instanceof Error ? error.message : String(error);
  if (code === "SQLITE_BUSY" || code === "SQLITE_LOCKED") {
    return new TetherError(
      Code.FailedPrecondition,
      "STORE_FAILED",
      `the state database ${path} is locked by another process, most likely another tether daemon using the same state dir: stop it (tether daemon stop) or set TETHER_HOME to another directory`,
      { path },
    );
  }
  if (isDamaged(error)) return damagedDatabase(path, error);
  return new TetherError(
    Code.Unavailable,
    "STORE_FAILED",
    `cannot open the state database ${path}: ${detail}; check that the directory exists and is writable`,
    { path },
  );
}
