/** What to do about a write to the state that failed: free disk space when the disk was full; else retry (what failed is named before it). */
export function storeFix(error: unknown): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  return code === "SQLITE_FULL" || code === "ENOSPC" || code === "EDQUOT" ? "free disk space where the daemon keeps its state, and retry" : "retry";
}

/** Whether `error` is SQLite's (better-sqlite3's SqliteError: its code SQLITE_FULL, SQLITE_IOERR_WRITE ...). */
export function isSqliteError(error: unknown): error is Error & { code: string } {
  const code = (error as { code?: unknown } | undefined)?.code;
  return error instanceof Error && typeof code === "string" && code.startsWith("SQLITE_");
}
