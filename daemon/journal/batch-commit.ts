import { TetherError } from "../errors.js";
import { withoutFsync, type Db } from "../store/database.js";
import { storeCode, storeFix } from "../store/store-errors.js";
import type { DataFiles } from "./data-files.js";
import type { DataWrite } from "./data-segments.js";
import { RecordRows, type JournalState, type JournalTables } from "./journal-tables.js";
import { DATA_ASYNC_WRITE_MIN_BYTES } from "./limits.js";
import { hasKeys } from "./record-checks.js";
import type { AppendInput, AppendResult, Durability, JournalRecord, Retention } from "./types.js";

/** A journal created by its first append keeps everything. */
export const KEEP_EVERYTHING: Retention = { maxBytes: 0, maxAgeMs: 0 };
/** What a store (Journals.store), which appends nothing, was committed as. */
const NO_RECORDS: AppendResult = { firstSeq: 0, lastSeq: -1, firstOffset: 0, nextOffset: 0, createdAt: 0 };

/** One append (or store: no inputs) waiting in the group commit. */
export interface PendingAppend {
  readonly name: string;
  readonly inputs: readonly AppendInput[];
  readonly alongside: ((result: AppendResult) => void) | undefined;
  readonly durability: Durability;
  /** Its data goes to the data files, the rows hold its length (process output). */
  readonly inFiles: boolean;
}

/** Process output's appends, at an allocation site of their own (GroupCommit's streamingEntry says why). */
export function outputAppend(name: string, inputs: readonly AppendInput[], alongside: PendingAppend["alongside"], durability: Durability): PendingAppend {
  return { name, inputs, alongside, durability, inFiles: true };
}

/** What one batch's transaction changed: to publish after the commit, or to undo when it failed. */
interface BatchWork {
  readonly committed: Map<JournalState, JournalRecord[]>;
  readonly snapshots: Map<JournalState, [number, number, number, number]>;
  readonly created: string[];
  /** The batch is fsynced: the data files written since the last fsync are synced inside it too. */
  readonly fsync: boolean;
  /** Its byte-log data is already in the data files (prepare). */
  readonly prepared: boolean;
}

/** A journal a batch appends to, with the records the batch committed to it so far. */
interface Entered {
  readonly name: string;
  readonly state: JournalState;
  readonly records: JournalRecord[];
}

/**
 * How a batch of the group commit becomes durable (Journals' GroupCommit
 * calls it): its byte-log data written ahead on the thread pool (prepare),
 * then its rows in one transaction, the journals' bounds moved with them
 * and restored if it fails, and its records published to the cache and
 * the followers (`publish`) once committed.
 */
export class BatchCommit {
  private readonly writeBatch: (batch: PendingAppend[], now: number, work: BatchWork) => AppendResult[];

  /** `states` and `lookup` are Journals' own: a journal an append creates is added to them, and taken out again if its commit fails. */
  constructor(
    db: Db,
    private readonly tables: JournalTables,
    private readonly files: DataFiles,
    private readonly states: Map<string, JournalState>,
    private readonly lookup: (name: string) => JournalState | undefined,
    private readonly publish: (state: JournalState, records: JournalRecord[]) => void,
  ) {
    // Made once: better-sqlite3 builds a wrapper per db.transaction call, ~10 µs of each small commit.
    this.writeBatch = db.transaction((batch: PendingAppend[], now: number, work: BatchWork) => this.writeRows(batch, now, work));
  }

  /**
   * Writes a batch's byte-log data to the data files on the thread pool, at
   * the offsets its records will have, so the reading of process output goes
   * on while the kernel takes the bytes; the transaction follows once they are
   * written. Less than DATA_ASYNC_WRITE_MIN_BYTES to write, or a journal not
   * created yet: undefined, and the transaction writes them itself. The
   * batches `ahead` of it, not committed yet, come first in their journals.
   */
  prepare(batch: PendingAppend[], ahead: readonly PendingAppend[][]): Promise<void> | undefined {
    let bytes = 0;
    for (const append of batch) if (append.inFiles) for (const input of append.inputs) bytes += input.data.byteLength;
    if (bytes < DATA_ASYNC_WRITE_MIN_BYTES) return undefined;
    const places = new Map<string, { id: number; offset: number }>();
    for (const append of batch) {
      if (append.inputs.length === 0) continue;
      const state = this.lookup(append.name);
      if (state === undefined) return undefined;
      places.set(append.name, { id: state.id, offset: state.nextOffset });
    }
    for (const earlier of ahead) {
      for (const append of earlier) {
        const place = places.get(append.name);
        if (place !== undefined) for (const input of append.inputs) place.offset += input.data.byteLength;
      }
    }
    const writes: DataWrite[] = [];
    for (const append of batch) {
      if (append.inputs.length === 0) continue;
      const place = places.get(append.name)!;
      for (const input of append.inputs) {
        if (append.inFiles) writes.push({ journalId: place.id, offset: place.offset, data: input.data });
        place.offset += input.data.byteLength;
      }
    }
    return this.files.writeAsync(writes);
  }

  /**
   * Commits a batch in one transaction (fsynced unless every append in it
   * need only survive a crash of the daemon), then publishes its records;
   * on failure every journal's bounds are as before and nothing was written.
   */
  commit(batch: PendingAppend[], prepared: boolean): AppendResult[] {
    const now = Date.now();
    // One item that must survive a power cut makes the whole batch fsync.
    const fsync = !batch.every((append) => append.durability === "daemon-crash");
    const work: BatchWork = { committed: new Map(), snapshots: new Map(), created: [], fsync, prepared };
    try {
      const results = fsync ? this.writeBatch(batch, now, work) : withoutFsync(this.tables.db, () => this.writeBatch(batch, now, work));
      for (const [state, [, , firstOffset]] of work.snapshots) this.files.drop(state.id, firstOffset, state.firstOffset);
      for (const [state, records] of work.committed) this.publish(state, records.filter((r) => r.seq >= state.firstSeq));
      return results;
    } catch (error) {
      for (const [state, [firstSeq, nextSeq, firstOffset, nextOffset]] of work.snapshots) {
        Object.assign(state, { firstSeq, nextSeq, firstOffset, nextOffset });
      }
      for (const name of work.created) this.states.delete(name);
      throw new TetherError(storeCode(error), "STORE_FAILED", `the append was not committed (${error instanceof Error ? error.message : String(error)}): nothing was written; ${storeFix(error)}`);
    }
  }

  /** Writes one batch's rows; run inside writeBatch's transaction. */
  private writeRows(batch: PendingAppend[], now: number, work: BatchWork): AppendResult[] {
    const rows = new RecordRows();
    const dataWrites: DataWrite[] = [];
    const out: AppendResult[] = [];
    // The journal of the append before: appends to one journal in a row (a flood of sends, a run's output) look it up once.
    let journal: Entered | undefined;
    for (const append of batch) {
      if (append.inputs.length === 0) {
        // A store: rows of other tables only; it may remove journals, so the next append looks its own up again.
        append.alongside?.(NO_RECORDS);
        out.push(NO_RECORDS);
        journal = undefined;
        continue;
      }
      if (journal?.name !== append.name) journal = this.enter(append.name, now, work);
      const { state, records } = journal;
      const firstSeq = state.nextSeq;
      const firstOffset = state.nextOffset;
      for (const input of append.inputs) {
        const meta = input.meta !== undefined && hasKeys(input.meta) ? input.meta : undefined;
        if (append.inFiles && !work.prepared) dataWrites.push({ journalId: state.id, offset: state.nextOffset, data: input.data });
        rows.add(state.id, state.nextSeq, state.nextOffset, now, meta === undefined ? undefined : JSON.stringify(meta), append.inFiles ? input.data.byteLength : input.data);
        records.push({ seq: state.nextSeq, offset: state.nextOffset, createdAt: now, meta, data: input.data });
        state.nextSeq += 1;
        state.nextOffset += input.data.byteLength;
      }
      const result = { firstSeq, lastSeq: state.nextSeq - 1, firstOffset, nextOffset: state.nextOffset, createdAt: now };
      append.alongside?.(result);
      out.push(result);
    }
    if (dataWrites.length > 0) this.files.write(dataWrites);
    this.tables.insertRows(rows);
    for (const state of work.committed.keys()) {
      this.tables.saveBounds(state);
      if (state.retention.maxBytes > 0) this.tables.trimToBytes(state, state.retention.maxBytes);
    }
    if (work.fsync) this.files.syncDirty();
    return out;
  }

  /** The journal an append goes to, created if new, its bounds snapshotted and its committed records' list made on its first append of the batch. */
  private enter(name: string, now: number, work: BatchWork): Entered {
    let state = this.lookup(name);
    if (state === undefined) {
      state = this.tables.create(name, KEEP_EVERYTHING, now);
      this.states.set(name, state);
      work.created.push(name);
    }
    if (!work.snapshots.has(state)) work.snapshots.set(state, [state.firstSeq, state.nextSeq, state.firstOffset, state.nextOffset]);
    let records = work.committed.get(state);
    if (records === undefined) {
      records = [];
      work.committed.set(state, records);
    }
    return { name, state, records };
  }
}
