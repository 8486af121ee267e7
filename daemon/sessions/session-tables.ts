import { prefixUpperBound } from "../ids.js";
import type { Db } from "../store/database.js";
import { labelConditions, type LabelSelector } from "../workspaces/labels.js";
import type { RunRecord, SessionRecord, SessionSpec, SessionStatus, Transition, XcomValue } from "./types.js";

/** A session's row with its spec (kept apart: see the migration that made session_specs). */
const SELECT_SESSIONS = `SELECT s.*, p.spec FROM sessions s JOIN session_specs p USING (seq)`;

interface SessionRow {
  seq: number;
  id: string;
  task: string;
  status: string;
  external_id: string | null;
  labels: string | null;
  spec: string;
  result: string | null;
  error: string | null;
  exit_code: number | null;
  created_at: number;
  updated_at: number;
  ended_at: number | null;
}

interface RunRow {
  number: number;
  task: string;
  attempt: number;
  status: string;
  pid: number | null;
  started_at_ticks: number | null;
  exit_code: number | null;
  reason: string;
  command: string;
  transitions: string;
}

export interface SessionFilter {
  readonly status: SessionStatus | undefined;
  readonly task: string | undefined;
  /** Sessions with every one of these labels. */
  readonly labels: readonly LabelSelector[];
  /** Sessions whose exit code is 0 (succeeded), or another (failed). */
  readonly outcome: "succeeded" | "failed" | undefined;
}

/** The sessions' SQL, as prepared statements. Only the sessions module touches these tables. */
export class SessionTables {
  private readonly insertSession;
  private readonly insertSpec;
  private readonly updateSession;
  private readonly selectById;
  private readonly selectByPrefix;
  private readonly selectByExternalId;
  private readonly selectOpen;
  private readonly upsertRun;
  private readonly updateRunProcess;
  private readonly selectRuns;
  private readonly upsertXcom;
  private readonly selectXcom;
  private readonly selectXcomKey;
  private readonly selectMaxSeq;
  private readonly deleteSession;
  private readonly pages: Map<string, ReturnType<Db["prepare"]>> = new Map();

  constructor(readonly db: Db) {
    this.insertSession = db.prepare(
      `INSERT INTO sessions (seq, id, task, status, external_id, labels, created_at, updated_at)
       VALUES (@seq, @id, @task, @status, @external_id, @labels, @created_at, @updated_at)`,
    );
    this.insertSpec = db.prepare(`INSERT INTO session_specs (seq, spec) VALUES (?, ?)`);
    this.updateSession = db.prepare(
      `UPDATE sessions SET status = @status, result = @result, error = @error, exit_code = @exit_code,
       updated_at = @updated_at, ended_at = @ended_at WHERE seq = @seq`,
    );
    this.selectById = db.prepare(`${SELECT_SESSIONS} WHERE id = ?`);
    this.selectByPrefix = db.prepare(`${SELECT_SESSIONS} WHERE id >= ? AND id < ? ORDER BY id LIMIT 6`);
    this.selectByExternalId = db.prepare(`${SELECT_SESSIONS} WHERE external_id = ?`);
    this.selectOpen = db.prepare(`${SELECT_SESSIONS} WHERE status = 'open' ORDER BY seq`);
    this.upsertRun = db.prepare(
      `INSERT OR REPLACE INTO runs (session_seq, number, task, attempt, status, pid, started_at_ticks, exit_code, reason, command, transitions)
       VALUES (@session_seq, @number, @task, @attempt, @status, @pid, @started_at_ticks, @exit_code, @reason, @command, @transitions)`,
    );
    this.updateRunProcess = db.prepare(`UPDATE runs SET pid = ?, started_at_ticks = ? WHERE session_seq = ? AND number = ?`);
    this.selectRuns = db.prepare(`SELECT * FROM runs WHERE session_seq = ? AND number > ? ORDER BY number LIMIT ?`);
    this.upsertXcom = db.prepare(`INSERT OR REPLACE INTO xcom (session_seq, key, value, updated_at) VALUES (?, ?, ?, ?)`);
    this.selectXcom = db.prepare(`SELECT key, value, updated_at FROM xcom WHERE session_seq = ? ORDER BY key`);
    this.selectXcomKey = db.prepare(`SELECT key, value, updated_at FROM xcom WHERE session_seq = ? AND key = ?`);
    this.selectMaxSeq = db.prepare(`SELECT COALESCE(MAX(seq), 0) AS seq FROM sessions`);
    this.deleteSession = [
      db.prepare(`DELETE FROM sessions WHERE seq = ?`),
      db.prepare(`DELETE FROM session_specs WHERE seq = ?`),
      db.prepare(`DELETE FROM runs WHERE session_seq = ?`),
      db.prepare(`DELETE FROM xcom WHERE session_seq = ?`),
    ];
  }

  /** Deletes a session's row, spec, runs and xcom (its journals go in the same transaction); false when there was none. */
  delete(seq: number): boolean {
    const [session, ...rest] = this.deleteSession;
    const deleted = session!.run(seq).changes > 0;
    for (const statement of rest) statement.run(seq);
    return deleted;
  }

  maxSeq(): number {
    return (this.selectMaxSeq.get() as { seq: number }).seq;
  }

  insert(session: SessionRecord): void {
    this.insertSession.run({
      seq: session.seq,
      id: session.id,
      task: session.task,
      status: session.status,
      external_id: session.externalId ?? null,
      labels: Object.keys(session.labels).length === 0 ? null : JSON.stringify(session.labels),
      created_at: session.createdAt,
      updated_at: session.updatedAt,
    });
    this.insertSpec.run(session.seq, JSON.stringify(session.spec));
  }

  update(session: SessionRecord): void {
    this.updateSession.run({
      seq: session.seq,
      status: session.status,
      result: session.result ?? null,
      error: session.error ?? null,
      exit_code: session.exitCode ?? null,
      updated_at: session.updatedAt,
      ended_at: session.endedAt ?? null,
    });
  }

  byId(id: string): SessionRecord | undefined {
    const row = this.selectById.get(id) as SessionRow | undefined;
    return row === undefined ? undefined : toSession(row);
  }

  /** Up to 6 sessions whose id starts with `prefix`: enough to list the candidates of an ambiguous prefix. */
  byPrefix(prefix: string): SessionRecord[] {
    return (this.selectByPrefix.all(prefix, prefixUpperBound(prefix)) as SessionRow[]).map(toSession);
  }

  byExternalId(externalId: string): SessionRecord | undefined {
    const row = this.selectByExternalId.get(externalId) as SessionRow | undefined;
    return row === undefined ? undefined : toSession(row);
  }

  open(): SessionRecord[] {
    return (this.selectOpen.all() as SessionRow[]).map(toSession);
  }

  /** Sessions older than `beforeSeq` (0: from the newest), newest first. */
  page(filter: SessionFilter, beforeSeq: number, limit: number): SessionRecord[] {
    const labels = labelConditions("labels", filter.labels);
    const where = ["seq < @before", ...labels.where];
    if (filter.status !== undefined) where.push("status = @status");
    if (filter.task !== undefined) where.push("task = @task");
    if (filter.outcome !== undefined) where.push(filter.outcome === "succeeded" ? "exit_code = 0" : "exit_code <> 0");
    const sql = `${SELECT_SESSIONS} WHERE ${where.join(" AND ")} ORDER BY seq DESC LIMIT @limit`;
    let statement = this.pages.get(sql);
    if (statement === undefined) {
      statement = this.db.prepare(sql);
      this.pages.set(sql, statement);
    }
    const params: Record<string, unknown> = { ...labels.params, before: beforeSeq === 0 ? Number.MAX_SAFE_INTEGER : beforeSeq, limit };
    if (filter.status !== undefined) params["status"] = filter.status;
    if (filter.task !== undefined) params["task"] = filter.task;
    return (statement.all(params) as SessionRow[]).map(toSession);
  }

  saveRun(sessionSeq: number, run: RunRecord): void {
    this.upsertRun.run({
      session_seq: sessionSeq,
      number: run.number,
      task: run.task,
      attempt: run.attempt,
      status: run.status,
      pid: run.pid ?? null,
      started_at_ticks: run.startTicks ?? null,
      exit_code: run.exitCode ?? null,
      reason: run.reason,
      command: run.command,
      transitions: JSON.stringify(run.transitions),
    });
  }

  /**
   * Records a live run's process once it runs (its pid comes a moment after
   * the run turned running), so a daemon that crashes can stop it on restart.
   * Not fsynced: a power cut stops the process anyway.
   */
  saveRunProcess(sessionSeq: number, run: RunRecord): void {
    this.updateRunProcess.run(run.pid ?? null, run.startTicks ?? null, sessionSeq, run.number);
  }

  /** The session's runs in order: those numbered after `afterNumber`, at most `limit` of them (-1: all). */
  runs(sessionSeq: number, afterNumber = 0, limit = -1): RunRecord[] {
    return (this.selectRuns.all(sessionSeq, afterNumber, limit) as RunRow[]).map((row) => ({
      number: row.number,
      task: row.task,
      attempt: row.attempt,
      status: row.status as RunRecord["status"],
      pid: row.pid ?? undefined,
      startTicks: row.started_at_ticks ?? undefined,
      exitCode: row.exit_code ?? undefined,
      reason: row.reason,
      command: row.command,
      transitions: JSON.parse(row.transitions) as Transition[],
    }));
  }

  setXcom(sessionSeq: number, key: string, value: string, at: number): void {
    this.upsertXcom.run(sessionSeq, key, value, at);
  }

  xcom(sessionSeq: number): XcomValue[] {
    return (this.selectXcom.all(sessionSeq) as { key: string; value: string; updated_at: number }[]).map((r) => ({ key: r.key, value: r.value, updatedAt: r.updated_at }));
  }

  xcomValue(sessionSeq: number, key: string): XcomValue | undefined {
    const r = this.selectXcomKey.get(sessionSeq, key) as { key: string; value: string; updated_at: number } | undefined;
    return r === undefined ? undefined : { key: r.key, value: r.value, updatedAt: r.updated_at };
  }
}

function toSession(row: SessionRow): SessionRecord {
  return {
    seq: row.seq,
    id: row.id,
    task: row.task,
    status: row.status as SessionStatus,
    externalId: row.external_id ?? undefined,
    labels: row.labels === null ? {} : (JSON.parse(row.labels) as Record<string, string>),
    spec: JSON.parse(row.spec) as SessionSpec,
    result: row.result ?? undefined,
    error: row.error ?? undefined,
    exitCode: row.exit_code ?? undefined,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    endedAt: row.ended_at ?? undefined,
  };
}
