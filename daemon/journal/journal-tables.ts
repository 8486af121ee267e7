import type { Db } from "../store/database.js";
import type { JournalRecord, Retention } from "./types.js";

/** A journal's row, kept in memory while the daemon runs: the daemon is the database's only writer. */
export interface JournalState {
  readonly id: number;
  readonly name: string;
  firstSeq: number;
  nextSeq: number;
  firstOffset: number;
  nextOffset: number;
  retention: Retention;
  readonly createdAt: number;
}

interface JournalRow {
  id: number;
  name: string;
  first_seq: number;
  next_seq: number;
  first_offset: number;
  next_offset: number;
  max_bytes: number;
  max_age_ms: number;
  created_at: number;
}

interface RecordRow {
  seq: number;
  offset: number;
  created_at: number;
  meta: string | null;
  data: Buffer;
}

/** The journal's SQL, as prepared statements. Only the journal module touches these tables. */
export class JournalTables {
  private readonly selectByName;
  private readonly selectPage;
  private readonly insertJournal;
  private readonly updateBounds;
  private readonly insertRecord;
  private readonly selectContainingOffset;
  private readonly selectFirstAtOrAfterOffset;
  private readonly selectFirstNotOlderThan;
  private readonly deleteBefore;
  private readonly selectNamesAfter;
  private readonly selectAged;

  constructor(readonly db: Db) {
    this.selectByName = db.prepare<[string], JournalRow>("SELECT * FROM journals WHERE name = ?");
    this.selectNamesAfter = db.prepare<[string, number], JournalRow>(
      "SELECT * FROM journals WHERE name > ? ORDER BY name LIMIT ?",
    );
    this.selectAged = db.prepare<[], JournalRow>("SELECT * FROM journals WHERE max_age_ms > 0");
    this.insertJournal = db.prepare<[string, number, number, number], { id: number }>(
      "INSERT INTO journals (name, first_seq, next_seq, first_offset, next_offset, max_bytes, max_age_ms, created_at) VALUES (?, 1, 1, 0, 0, ?, ?, ?) RETURNING id",
    );
    this.updateBounds = db.prepare<[number, number, number, number, number]>(
      "UPDATE journals SET first_seq = ?, next_seq = ?, first_offset = ?, next_offset = ? WHERE id = ?",
    );
    this.insertRecord = db.prepare<[number, number, number, number, string | null, Uint8Array]>(
      "INSERT INTO journal_records (journal_id, seq, offset, created_at, meta, data) VALUES (?, ?, ?, ?, ?, ?)",
    );
    this.selectPage = db.prepare<[number, number, number], RecordRow>(
      "SELECT seq, offset, created_at, meta, data FROM journal_records WHERE journal_id = ? AND seq >= ? ORDER BY seq LIMIT ?",
    );
    this.selectContainingOffset = db.prepare<[number, number], { seq: number }>(
      "SELECT seq FROM journal_records WHERE journal_id = ? AND offset <= ? ORDER BY offset DESC LIMIT 1",
    );
    this.selectFirstAtOrAfterOffset = db.prepare<[number, number], { seq: number; offset: number }>(
      "SELECT seq, offset FROM journal_records WHERE journal_id = ? AND offset >= ? ORDER BY offset LIMIT 1",
    );
    this.selectFirstNotOlderThan = db.prepare<[number, number, number], { seq: number; offset: number }>(
      "SELECT seq, offset FROM journal_records WHERE journal_id = ? AND seq >= ? AND created_at >= ? ORDER BY seq LIMIT 1",
    );
    this.deleteBefore = db.prepare<[number, number]>("DELETE FROM journal_records WHERE journal_id = ? AND seq < ?");
  }

  find(name: string): JournalState | undefined {
    const row = this.selectByName.get(name);
    return row === undefined ? undefined : toState(row);
  }

  listAfter(name: string, limit: number): JournalState[] {
    return this.selectNamesAfter.all(name, limit).map(toState);
  }

  withAgeRetention(): JournalState[] {
    return this.selectAged.all().map(toState);
  }

  create(name: string, retention: Retention, now: number): JournalState {
    const { id } = this.insertJournal.get(name, retention.maxBytes, retention.maxAgeMs, now) as { id: number };
    return { id, name, firstSeq: 1, nextSeq: 1, firstOffset: 0, nextOffset: 0, retention, createdAt: now };
  }

  insert(journal: JournalState, seq: number, offset: number, now: number, meta: string | null, data: Uint8Array): void {
    this.insertRecord.run(journal.id, seq, offset, now, meta, data);
  }

  saveBounds(journal: JournalState): void {
    this.updateBounds.run(journal.firstSeq, journal.nextSeq, journal.firstOffset, journal.nextOffset, journal.id);
  }

  /** Records from seq on, stopping after maxRecords or once maxBytes of data is reached (at least one record). */
  page(journalId: number, fromSeq: number, maxRecords: number, maxBytes: number): JournalRecord[] {
    const records: JournalRecord[] = [];
    let bytes = 0;
    for (const row of this.selectPage.iterate(journalId, fromSeq, maxRecords)) {
      records.push({
        seq: row.seq,
        offset: row.offset,
        createdAt: row.created_at,
        meta: row.meta === null ? undefined : (JSON.parse(row.meta) as Record<string, string>),
        data: row.data,
      });
      bytes += row.data.byteLength;
      if (bytes >= maxBytes) break;
    }
    return records;
  }

  /** The sequence of the record whose data holds byte `offset`. */
  seqContaining(journalId: number, offset: number): number | undefined {
    return this.selectContainingOffset.get(journalId, offset)?.seq;
  }

  /** Drops records so that at most maxBytes of data remain (always keeping the newest record). */
  trimToBytes(journal: JournalState, maxBytes: number): void {
    if (journal.nextOffset - journal.firstOffset <= maxBytes) return;
    const keep = this.selectFirstAtOrAfterOffset.get(journal.id, journal.nextOffset - maxBytes);
    this.dropBefore(journal, keep ?? { seq: journal.nextSeq - 1, offset: this.offsetOfLast(journal) });
  }

  /** Drops records committed before `cutoff` (ms since the epoch). */
  trimOlderThan(journal: JournalState, cutoff: number): void {
    const keep = this.selectFirstNotOlderThan.get(journal.id, journal.firstSeq, cutoff);
    this.dropBefore(journal, keep ?? { seq: journal.nextSeq, offset: journal.nextOffset });
  }

  private offsetOfLast(journal: JournalState): number {
    return this.page(journal.id, journal.nextSeq - 1, 1, 1)[0]?.offset ?? journal.nextOffset;
  }

  private dropBefore(journal: JournalState, keep: { seq: number; offset: number }): void {
    if (keep.seq <= journal.firstSeq) return;
    this.deleteBefore.run(journal.id, keep.seq);
    journal.firstSeq = keep.seq;
    journal.firstOffset = keep.offset;
    this.saveBounds(journal);
  }
}

function toState(row: JournalRow): JournalState {
  return {
    id: row.id,
    name: row.name,
    firstSeq: row.first_seq,
    nextSeq: row.next_seq,
    firstOffset: row.first_offset,
    nextOffset: row.next_offset,
    retention: { maxBytes: row.max_bytes, maxAgeMs: row.max_age_ms },
    createdAt: row.created_at,
  };
}
