import type { Db } from "../store/database.js";

/** The SQL of stream idempotency keys and takes. Only the sessions module touches these tables. */
export class StreamTables {
  private readonly insertKey;
  private readonly selectKey;
  private readonly insertTake;
  private readonly selectTakes;
  private readonly deleteSession;

  constructor(db: Db) {
    this.insertKey = db.prepare<[number, string, string, number]>("INSERT INTO stream_keys (session_seq, stream, key, seq) VALUES (?, ?, ?, ?)");
    this.selectKey = db.prepare<[number, string, string], { seq: number }>("SELECT seq FROM stream_keys WHERE session_seq = ? AND stream = ? AND key = ?");
    this.insertTake = db.prepare<[number, string, number, number, number]>("INSERT INTO stream_takes (session_seq, stream, seq, run, taken_at) VALUES (?, ?, ?, ?, ?)");
    this.selectTakes = db.prepare<[number, string], { seq: number }>("SELECT seq FROM stream_takes WHERE session_seq = ? AND stream = ? ORDER BY seq");
    this.deleteSession = [
      db.prepare<[number, number]>("DELETE FROM stream_keys WHERE (session_seq, stream, key) IN (SELECT session_seq, stream, key FROM stream_keys WHERE session_seq = ? LIMIT ?)"),
      db.prepare<[number, number]>("DELETE FROM stream_takes WHERE (session_seq, stream, seq) IN (SELECT session_seq, stream, seq FROM stream_takes WHERE session_seq = ? LIMIT ?)"),
    ];
  }

  saveKey(sessionSeq: number, stream: string, key: string, seq: number): void {
    this.insertKey.run(sessionSeq, stream, key, seq);
  }

  /** The sequence of the record first sent with this key, if any. */
  keySeq(sessionSeq: number, stream: string, key: string): number | undefined {
    return this.selectKey.get(sessionSeq, stream, key)?.seq;
  }

  saveTake(sessionSeq: number, stream: string, seq: number, run: number, at: number): void {
    this.insertTake.run(sessionSeq, stream, seq, run, at);
  }

  /** The sequences of a stream's records already taken, ascending. */
  takes(sessionSeq: number, stream: string): number[] {
    return this.selectTakes.all(sessionSeq, stream).map((r) => r.seq);
  }

  /** Deletes up to `limit` of an ended session's keys and takes (a session that took a million records has a million); how many went. */
  deleteSessionRows(sessionSeq: number, limit: number): number {
    let deleted = 0;
    for (const statement of this.deleteSession) deleted += statement.run(sessionSeq, limit - deleted).changes;
    return deleted;
  }
}
