import { Code } from "@connectrpc/connect";
import { TetherError, invalidArgument } from "../errors.js";
import type { Db } from "../store/database.js";
import { BatchCommit, KEEP_EVERYTHING, outputAppend, type PendingAppend } from "./batch-commit.js";
import { cursorExpired, isDropped, resolveCursor, type DescribeJournal, type Place } from "./cursors.js";
import { DataFiles } from "./data-files.js";
import { sweepDataFiles } from "./data-sweep.js";
import { GroupCommit } from "./group-commit.js";
import { JournalStates, journalInfo } from "./journal-states.js";
import { JournalTables, type JournalState } from "./journal-tables.js";
import {
  COMMIT_MAX_BYTES,
  COMMITS_PREPARED_AHEAD,
  DATA_SEGMENT_BYTES,
  JOURNAL_MAX_SEQUENCE,
  JOURNAL_STATE_SWEEP_MS,
  READ_BATCH_MAX_BYTES,
  READ_BATCH_MAX_RECORDS,
  RECORD_CACHE_IDLE_MS,
  RETENTION_SWEEP_INTERVAL_MS,
} from "./limits.js";
import { journalNotFound, journalRemoved, validateJournalId } from "./journal-id.js";
import { Subscription } from "./subscription.js";
import { RecordCache } from "./record-cache.js";
import { RecordPurge } from "./record-purge.js";
import { validateRecord } from "./record-checks.js";
import type { AppendInput, AppendOptions, AppendResult, Cursor, Durability, JournalInfo, JournalRecord, ReadBatch, Retention } from "./types.js";
import { PeriodicChore } from "../periodic-chore.js";

export interface ReadOptions {
  readonly cursor: Cursor;
  /** Keep reading new records as they are committed. */
  readonly follow: boolean;
  /** With follow: wait for the journal to be created instead of failing. */
  readonly waitForJournal?: boolean;
  /** Ends the read: the iterator throws the signal's reason. */
  readonly signal: AbortSignal;
  /** With follow: committed records this reader may hold in memory (READER_QUEUE_MAX_BYTES unless a pacer keeps it closer). */
  readonly queueBytes?: number | undefined;
  /**
   * Records the journal's retention drops before this reader gets to them
   * are skipped, the read going on from the oldest kept (as docker logs -f
   * reads on past a rotation), instead of ending with CURSOR_EXPIRED: for a
   * live view of a capped log. A cursor already dropped starts it at the
   * oldest kept: one a user gave is checked first (requireKept).
   */
  readonly skipDropped?: boolean | undefined;
}

/**
 * The durable journals: named, append-only logs of records with dense
 * sequence numbers and byte offsets. Appends are group-committed and resolve
 * only once durable; readers read from any cursor and may follow live, with
 * the backlog and the live tail forming one ordered stream.
 *
 * The seam guarantee rests on one fact: the store is synchronous and this is
 * the only writer, so "commit, update the in-memory bounds, offer the records
 * to every subscription" happens in one turn of the event loop that no reader
 * can observe halfway.
 */
export class Journals {
  private readonly tables: JournalTables;
  private readonly files: DataFiles;
  /** Only while some journal's state is in memory: an idle daemon does not wake for it. */
  private readonly stateSweep = new PeriodicChore(JOURNAL_STATE_SWEEP_MS, () => {
    this.sweepStates();
    return this.states.size > 0;
  });
  private readonly states = new JournalStates(() => this.stateSweep.poke());
  private readonly subscribers = new Map<string, Set<Subscription>>();
  private readonly cache = new RecordCache();
  private readonly commit: GroupCommit<PendingAppend, AppendResult>;
  private readonly ageSweep: PeriodicChore;
  private readonly cacheExpiry: PeriodicChore;
  private closed = false;
  /** Deletes removed journals' records, a commit at a time, after their removal. */
  private readonly purge: RecordPurge;

  /**
   * `dataDir` holds the data files of byte-log records (data-files.ts).
   * `describe` names a journal in cursor errors as its reader knows it (an
   * exec's output, a session's stream): by default, "journal <name>".
   */
  constructor(
    db: Db,
    private readonly dataDir: string,
    private readonly describe: DescribeJournal = (name) => `journal ${name}`,
  ) {
    this.files = new DataFiles(dataDir);
    this.tables = new JournalTables(db, this.files);
    const batches = new BatchCommit(db, this.tables, this.files, this.states, (name) => this.lookup(name), (state, records) => {
      const subs = this.subscribers.get(state.name);
      this.cache.add(state.id, records, subs !== undefined);
      this.cacheExpiry.poke();
      for (const sub of subs ?? []) sub.offer(records);
    });
    this.commit = new GroupCommit(
      (batch, prepared) => batches.commit(batch, prepared),
      COMMIT_MAX_BYTES,
      (batch, ahead) => batches.prepare(batch, ahead),
      COMMITS_PREPARED_AHEAD,
    );
    // Only while some journal keeps records for a time (none of tether's own: a client's CreateJournal).
    this.ageSweep = new PeriodicChore(RETENTION_SWEEP_INTERVAL_MS, () => this.applyAgeRetention(Date.now()) > 0);
    if (this.tables.withAgeRetention().length > 0) this.ageSweep.poke();
    // Only while the cache holds something: an idle daemon does not wake for it.
    this.cacheExpiry = new PeriodicChore(RECORD_CACHE_IDLE_MS / 2, () => {
      this.cache.expire(Date.now());
      return !this.cache.empty;
    });
    this.purge = new RecordPurge(this.tables, (write) => this.store(write, "daemon-crash"));
    // A removal the last daemon did not finish goes on.
    this.purge.start();
  }

  create(name: string, retention: Retention = KEEP_EVERYTHING): JournalInfo {
    validateJournalId(name);
    this.assertOpen();
    if (this.lookup(name) !== undefined) {
      throw new TetherError(
        Code.AlreadyExists,
        "JOURNAL_ALREADY_EXISTS",
        `journal ${name} already exists: append to it, or pick another id`,
        { journal: name },
      );
    }
    const state = this.tables.create(name, retention, Date.now());
    this.states.set(name, state);
    if (retention.maxAgeMs > 0) this.ageSweep.poke();
    for (const sub of this.subscribers.get(name) ?? []) sub.notify();
    return journalInfo(state);
  }

  get(name: string): JournalInfo {
    validateJournalId(name);
    return journalInfo(this.require(name));
  }

  /** As `get`, or undefined for a journal not created yet. */
  find(name: string): JournalInfo | undefined {
    const state = this.lookup(name);
    return state === undefined ? undefined : journalInfo(state);
  }

  /** Where the next byte appended to `name` goes, as far as is committed: 0 for a journal not created yet. */
  endOf(name: string): number {
    return this.lookup(name)?.nextOffset ?? 0;
  }

  /** Journals ordered by name, starting after `afterName`. */
  list(afterName: string, limit: number): JournalInfo[] {
    return this.tables.listAfter(afterName, limit).map((row) => journalInfo(this.states.get(row.name) ?? row));
  }

  /**
   * Appends records atomically; resolves once they are committed as
   * durably as `options.durability` asks (fsynced by default).
   * `options.alongside` runs inside the same transaction, with the records'
   * place, so other tables' rows (a run's state beside its event) are
   * durable exactly when the records are.
   */
  append(name: string, inputs: readonly AppendInput[], options: AppendOptions = {}): Promise<AppendResult> {
    let state = this.states.get(name);
    // A journal known here has a valid id; one not in memory may be in the store (its bounds are checked below).
    if (state === undefined) {
      validateJournalId(name);
      state = this.lookup(name);
    }
    if (inputs.length === 0) throw invalidArgument("records", "no records to append: send at least one record");
    let bytes = 0;
    for (const input of inputs) {
      validateRecord(input);
      bytes += input.data.byteLength;
    }
    this.assertOpen();
    if (state !== undefined && state.nextSeq - 1 + inputs.length > JOURNAL_MAX_SEQUENCE) {
      throw new TetherError(
        Code.ResourceExhausted,
        "JOURNAL_FULL",
        `journal ${name} has reached its limit of ${JOURNAL_MAX_SEQUENCE} records: write to a new journal`,
        { journal: name, limit_records: String(JOURNAL_MAX_SEQUENCE) },
      );
    }
    const durability = options.durability ?? "power-loss";
    // Process output's appends at allocation sites of their own (GroupCommit's streamingEntry says why).
    const pending = options.dataInFiles === true ? outputAppend(name, inputs, options.alongside, durability) : { name, inputs, alongside: options.alongside, durability, inFiles: false };
    return this.commit.submit(pending, bytes, pending.inFiles);
  }

  /**
   * Runs `write` (rows of other tables, no record) in the next group commit,
   * committed as durably as `durability` asks: a row that must be stored
   * soon, at the cost of a share of a commit instead of a transaction of its
   * own (a run's pid, for instance, which a restarted daemon needs).
   */
  store(write: () => void, durability: Durability): Promise<void> {
    // Refused as a rejection, not a throw: its callers store on the side of a promise chain.
    if (this.closed) return Promise.reject(storeClosed());
    return this.commit.submit({ name: "", inputs: [], alongside: () => write(), durability, inFiles: false }, 0).then(() => undefined);
  }

  /**
   * Removes journals (those of `names` that exist): their rows in the next
   * group commit (after the appends submitted before it, fsynced),
   * `alongside` in the same transaction (a resource's rows go with its
   * output), then their data files. A journal's records go in that commit
   * when they are few, else REMOVAL_RECORDS_PER_COMMIT per commit after it
   * (RecordPurge), so other work goes on between. Their readers end with
   * JOURNAL_REMOVED. Resolves with the bytes of data they held.
   */
  async remove(names: readonly string[], alongside: () => void): Promise<number> {
    for (const name of names) validateJournalId(name);
    const removed: JournalState[] = [];
    let recordsLeft = false;
    await this.store(() => {
      // Looked up in the transaction: the appends before it are committed, an earlier removal may have taken one.
      for (const name of names) {
        const state = this.lookup(name);
        if (state === undefined) continue;
        if (this.tables.remove(state)) recordsLeft = true;
        this.states.delete(name);
        removed.push(state);
      }
      alongside();
    }, "power-loss");
    if (recordsLeft) this.purge.start();
    let bytes = 0;
    for (const state of removed) {
      state.removed = true;
      this.files.drop(state.id, state.firstOffset, state.nextOffset + DATA_SEGMENT_BYTES);
      for (const sub of this.subscribers.get(state.name) ?? []) sub.notify();
      bytes += state.nextOffset - state.firstOffset;
    }
    return bytes;
  }

  /** Deletes, off the daemon's thread, the data files of journals removed or trimmed by a daemon killed before it deleted them; resolves with how many. */
  sweepDataFiles(): Promise<number> {
    return sweepDataFiles(this.dataDir, () => this.tables.places());
  }

  /** Reads batches of consecutive records from a cursor; with follow, never ends on its own. */
  async *read(name: string, options: ReadOptions): AsyncGenerator<ReadBatch> {
    validateJournalId(name);
    const sub = new Subscription(options.queueBytes);
    let subs: Set<Subscription> | undefined;
    let held: JournalState | undefined;
    if (options.follow) {
      subs = this.subscribers.get(name) ?? new Set();
      this.subscribers.set(name, subs);
      subs.add(sub);
    }
    try {
      let state = this.lookup(name);
      while (state === undefined && options.follow && options.waitForJournal === true) {
        await sub.wait(options.signal);
        state = this.lookup(name);
      }
      if (state === undefined) throw journalNotFound(name);
      held = state;
      this.states.hold(state);
      // One that skips what is dropped goes on from the oldest kept (a follow's next read; its first is checked: requireKept).
      const cursor: Cursor = options.skipDropped === true && isDropped(state, options.cursor) ? { kind: "start" } : options.cursor;
      const start = resolveCursor(this.tables, state, cursor, this.describe);
      let nextSeq = start.seq;
      // Where an offset cursor's reader has got to: an expiry mid-read names it in the reader's unit.
      let reached = cursor.kind === "offset" ? cursor.offset : undefined;
      const place = (): Place => (reached === undefined ? { kind: "sequence", seq: nextSeq } : { kind: "offset", offset: reached });
      let sliceFrom = start.offset;
      const endSeq = options.follow ? Infinity : state.nextSeq;
      let caughtUpSent = false;
      for (;;) {
        options.signal.throwIfAborted();
        if (state.removed === true) throw journalRemoved(name, this.describe(name));
        if (nextSeq >= Math.min(state.nextSeq, endSeq)) {
          if (!options.follow) return;
          sub.caughtUp();
          if (!caughtUpSent) {
            caughtUpSent = true;
            yield { records: [], caughtUp: true };
            continue;
          }
          await sub.wait(options.signal);
          continue;
        }
        let records = sub.take(nextSeq, READ_BATCH_MAX_RECORDS, READ_BATCH_MAX_BYTES);
        if (records.length === 0) {
          if (nextSeq < state.firstSeq) {
            if (options.skipDropped !== true) throw cursorExpired(state, place(), this.describe);
            nextSeq = state.firstSeq;
            sliceFrom = undefined;
            continue;
          }
          try {
            records = this.cache.unkept(state.id, nextSeq)
              ? await this.storedLarge(state, nextSeq, READ_BATCH_MAX_RECORDS, READ_BATCH_MAX_BYTES, place())
              : this.stored(state, nextSeq, READ_BATCH_MAX_RECORDS, READ_BATCH_MAX_BYTES);
          } catch (error) {
            // Dropped while it was read off the thread: read on from what is kept.
            if (options.skipDropped === true && state.removed !== true && nextSeq < state.firstSeq) continue;
            throw error;
          }
        }
        if (records.length === 0) {
          if (state.removed === true) throw journalRemoved(name, this.describe(name));
          throw new Error(`journal ${name}: no record at sequence ${nextSeq} below the tail`);
        }
        if (Number.isFinite(endSeq)) records = records.filter((r) => r.seq < endSeq);
        nextSeq = records[records.length - 1]!.seq + 1;
        if (sliceFrom !== undefined) {
          records = [sliceRecord(records[0]!, sliceFrom), ...records.slice(1)];
          sliceFrom = undefined;
        }
        if (reached !== undefined) {
          const last = records[records.length - 1]!;
          reached = last.offset + last.data.byteLength;
        }
        yield { records, caughtUp: false };
      }
    } finally {
      if (held !== undefined) this.states.release(held);
      subs?.delete(sub);
      if (subs?.size === 0) this.subscribers.delete(name);
    }
  }

  /**
   * Refuses a cursor a user's read would start at (an offset, a sequence)
   * that retention has dropped or that lies past the end (CURSOR_EXPIRED,
   * CURSOR_PAST_END): for a read that skips what is dropped after its start
   * (ReadOptions.skipDropped). A journal not created yet has nothing to refuse.
   */
  requireKept(name: string, cursor: Cursor): void {
    const state = this.lookup(name);
    if (state !== undefined) resolveCursor(this.tables, state, cursor, this.describe);
  }

  /**
   * Reads committed records from `fromSeq` straight from the store, without
   * waiting: an empty array at the end or for a journal not created yet.
   * For readers that merge several journals themselves. `skipDropped`: from
   * the oldest kept when retention dropped `fromSeq` (as ReadOptions').
   */
  page(name: string, fromSeq: number, maxRecords: number, maxBytes: number, skipDropped = false): JournalRecord[] {
    const state = this.lookup(name);
    if (state === undefined || fromSeq >= state.nextSeq) return [];
    if (fromSeq < state.firstSeq && !skipDropped) throw cursorExpired(state, { kind: "sequence", seq: fromSeq }, this.describe);
    return this.stored(state, Math.max(fromSeq, state.firstSeq), maxRecords, maxBytes);
  }

  /**
   * The metadata of a journal's last retained record whose metadata has
   * `key` = `value` (an fd's last output record, say), or undefined: for
   * what a daemon that stopped without recording it can still learn.
   */
  lastMetaWith(name: string, key: string, value: string): Record<string, string> | undefined {
    const state = this.lookup(name);
    return state === undefined ? undefined : this.tables.lastMetaWith(state.id, key, value);
  }

  /**
   * As `page`, past the record cache, with byte-log data read off the
   * daemon's thread: for a reader that looks back over much of a journal
   * (tails.ts), which neither waits on large reads nor fills the cache with
   * records no follower needs.
   */
  async pageStored(name: string, fromSeq: number, maxRecords: number, maxBytes: number): Promise<JournalRecord[]> {
    const state = this.lookup(name);
    if (state === undefined || fromSeq >= state.nextSeq) return [];
    const place: Place = { kind: "sequence", seq: fromSeq };
    if (fromSeq < state.firstSeq) throw cursorExpired(state, place, this.describe);
    return this.storedLarge(state, fromSeq, maxRecords, maxBytes, place);
  }

  /**
   * A page of records read past the cache (large ones: the cache keeps none
   * of them), their data read off the daemon's thread. Retention may drop
   * them meanwhile (then the cursor has expired), or a removal the whole
   * journal.
   */
  private async storedLarge(state: JournalState, fromSeq: number, maxRecords: number, maxBytes: number, place: Place): Promise<JournalRecord[]> {
    try {
      return await this.tables.pageAsync(state.id, fromSeq, maxRecords, maxBytes);
    } catch (error) {
      if (state.removed === true) throw journalRemoved(state.name, this.describe(state.name));
      if (fromSeq < state.firstSeq) throw cursorExpired(state, place, this.describe);
      throw error;
    }
  }

  /** Committed records from `fromSeq` (at least firstSeq, below nextSeq), through the record cache. */
  private stored(state: JournalState, fromSeq: number, maxRecords: number, maxBytes: number): JournalRecord[] {
    this.cacheExpiry.poke();
    return this.cache.page(state.id, fromSeq, maxRecords, maxBytes, state.firstSeq, (seq, records, bytes) => this.tables.page(state.id, seq, records, bytes));
  }

  /**
   * Resolves once every byte-log byte appended so far is on disk, without
   * blocking: for an end recorded outside the journal (an exec's exit) that
   * must not be durable before the output it follows.
   */
  dataSynced(): Promise<void> {
    return this.files.synced();
  }

  /** Record bytes held in memory for the followers of a journal: each holds at most READER_QUEUE_MAX_BYTES. */
  followerQueuedBytes(name: string): number[] {
    return [...(this.subscribers.get(name) ?? [])].map((sub) => sub.queuedBytes);
  }

  /**
   * Resolves once every append submitted is committed or failed, waiting for
   * the data-file writes under way (a shutdown waits for it, up to a grace,
   * before close: close's flush writes again what is still being written, and
   * a write landing after the next one's could clear the block they share).
   * The deletion of removed journals' records stops after its current
   * commit (the next start goes on with it).
   */
  settled(): Promise<void> {
    this.purge.stop();
    return this.commit.whenIdle();
  }

  /** Commits everything pending now (used on shutdown). */
  flush(): void {
    this.commit.flush();
  }

  /** Refuses new appends, commits what is pending, syncs the data files and stops the retention timer. */
  close(): void {
    this.closed = true;
    this.purge.stop();
    this.commit.flush();
    this.files.close();
    this.ageSweep.stop();
    this.cacheExpiry.stop();
    this.stateSweep.stop();
    for (const subs of this.subscribers.values()) for (const sub of subs) sub.notify();
  }

  /**
   * Drops records older than their journal's max age at `now`; runs every
   * RETENTION_SWEEP_INTERVAL_MS while there are such journals (how many).
   */
  applyAgeRetention(now: number): number {
    const aging = this.tables.withAgeRetention();
    for (const row of aging) {
      const state = this.states.get(row.name) ?? row;
      const firstOffset = state.firstOffset;
      this.tables.db.transaction(() => this.tables.trimOlderThan(state, now - state.retention.maxAgeMs))();
      this.files.drop(state.id, firstOffset, state.firstOffset);
    }
    return aging.length;
  }

  /** Drops the states of idle journals from memory (see JournalStates), while no append is in flight. */
  sweepStates(): number {
    return this.commit.idle ? this.states.sweep((name) => this.subscribers.has(name)) : 0;
  }

  private lookup(name: string): JournalState | undefined {
    let state = this.states.get(name);
    if (state === undefined) {
      state = this.tables.find(name);
      if (state !== undefined) this.states.set(name, state);
    }
    return state;
  }

  private require(name: string): JournalState {
    const state = this.lookup(name);
    if (state === undefined) throw journalNotFound(name);
    return state;
  }

  private assertOpen(): void {
    if (this.closed) throw storeClosed();
  }
}

function sliceRecord(record: JournalRecord, from: number): JournalRecord {
  if (from <= record.offset) return record;
  return { ...record, offset: from, data: record.data.subarray(from - record.offset) };
}

function storeClosed(): TetherError {
  return new TetherError(Code.Unavailable, "DAEMON_SHUTTING_DOWN", "the daemon is shutting down and accepts no new writes: retry once it is running again");
}
