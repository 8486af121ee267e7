/** One committed record of a journal. */
export interface JournalRecord {
  /** Dense per journal, starting at 1. */
  readonly seq: number;
  /** Byte offset of data[0] in the journal. */
  readonly offset: number;
  /** Commit time, milliseconds since the epoch. */
  readonly createdAt: number;
  readonly meta: Readonly<Record<string, string>> | undefined;
  readonly data: Uint8Array;
}

/** A journal's bounds and retention. */
export interface JournalInfo {
  readonly name: string;
  readonly firstSeq: number;
  readonly nextSeq: number;
  readonly firstOffset: number;
  readonly nextOffset: number;
  readonly retention: Retention;
  readonly createdAt: number;
}

/** What a journal keeps; 0 means unlimited. */
export interface Retention {
  readonly maxBytes: number;
  readonly maxAgeMs: number;
}

export interface AppendInput {
  readonly data: Uint8Array;
  readonly meta?: Readonly<Record<string, string>> | undefined;
}

/**
 * What an append must survive before it resolves. "power-loss" (the default):
 * fsynced, for records a client is told are stored. "daemon-crash": written
 * to the WAL without an fsync, for process output that no client acknowledged;
 * the next power-loss commit (a process's exit status is one) makes it durable
 * against a power cut too.
 */
export type Durability = "power-loss" | "daemon-crash";

export interface AppendOptions {
  /** Runs inside the append's transaction with the records' place (see Journals.append). */
  readonly alongside?: ((result: AppendResult) => void) | undefined;
  readonly durability?: Durability | undefined;
  /**
   * Byte-log records (process output): their bytes go to the journal's data
   * files, their rows hold only where they are (data-files.ts). Reads return
   * them like any other record.
   */
  readonly dataInFiles?: boolean | undefined;
}

export interface AppendResult {
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly firstOffset: number;
  readonly nextOffset: number;
  /** The commit's time, every record's createdAt (ms since the epoch). */
  readonly createdAt: number;
}

/** Where a read starts. */
export type Cursor =
  | { readonly kind: "start" }
  | { readonly kind: "sequence"; readonly seq: number }
  | { readonly kind: "offset"; readonly offset: number };

/** What a reader receives: consecutive records, and once, the moment it has caught up with the live tail. */
export interface ReadBatch {
  readonly records: readonly JournalRecord[];
  readonly caughtUp: boolean;
}
