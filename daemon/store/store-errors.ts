import { Code } from "@connectrpc/connect";
import { existsSync } from "node:fs";
import { TetherError } from "../errors.js";

/**
 * What to do about a call the state database failed: free disk space when the
 * disk was full; set the database aside when SQLite found it damaged; else
 * retry (what failed is named before it).
 */
export function storeFix(error: unknown): string {
  if (isDamaged(error)) {
    return "the file is damaged: stop the daemon (tether daemon stop), move tether.db aside in its state dir (tether daemon status names it), with tether.db-wal when there is one, and start the daemon again on a new one";
  }
  const code = (error as { code?: unknown } | undefined)?.code;
  return code === "SQLITE_FULL" || code === "ENOSPC" || code === "EDQUOT" ? "free disk space where the daemon keeps its state, and retry" : "retry";
}

/** The gRPC code of a call the state database failed: DATA_LOSS when it is damaged, else UNAVAILABLE (the caller's to retry once it can be). */
export function storeCode(error: unknown): Code {
  return isDamaged(error) ? Code.DataLoss : Code.Unavailable;
}

/** Whether `error` is SQLite's (better-sqlite3's SqliteError: its code SQLITE_FULL, SQLITE_IOERR_WRITE ...). */
export function isSqliteError(error: unknown): error is Error & { code: string } {
  const code = (error as { code?: unknown } | undefined)?.code;
  return error instanceof Error && typeof code === "string" && code.startsWith("SQLITE_");
}

/** Whether SQLite found the database file damaged (a page not what it must be, or no database at all), not merely unwritable. */
export function isDamaged(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === "string" && (code.startsWith("SQLITE_CORRUPT") || code === "SQLITE_NOTADB");
}

/**
 * The daemon cannot start on a damaged database: what to run to start on a
 * new one. The WAL moves with it, under the name SQLite pairs with the copy:
 * a new database must not replay the old one's WAL, and the copy needs it.
 */
export function damagedDatabase(path: string, error: unknown): TetherError {
  const detail = error instanceof Error ? error.message : String(error);
  const moves = [`mv ${path} ${path}.damaged`];
  if (existsSync(`${path}-wal`)) moves.push(`mv ${path}-wal ${path}.damaged-wal`);
  return new TetherError(
    Code.DataLoss,
    "STORE_FAILED",
    `the state database ${path} is damaged (${detail}): set it aside and start the daemon again with a new one (${moves.join(" && ")}); the history it held stays in the copy, where sqlite3's .recover salvages what is readable`,
    { path },
  );
}
