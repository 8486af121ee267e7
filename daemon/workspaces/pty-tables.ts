import { prefixUpperBound } from "../ids.js";
import type { Db } from "../store/database.js";
import { ProcessPages, type ProcessFilter } from "./process-pages.js";
import type { ExecStatus, PtyRecord, SizePolicy } from "./types.js";

interface PtyRow {
  seq: number;
  id: string;
  workspace_seq: number;
  workspace_id: string;
  argv: string;
  cwd: string;
  name: string | null;
  labels: string | null;
  cols: number;
  rows: number;
  size_policy: string;
  status: string;
  pid: number | null;
  start_ticks: number | null;
  exit_code: number | null;
  signal: string | null;
  error: string | null;
  created_at: number;
  ended_at: number | null;
}

/** A PTY row with what is needed to recognise its process after a restart. */
export interface StoredPty extends PtyRecord {
  readonly startTicks: number | undefined;
}

const SELECT = `SELECT p.*, w.id AS workspace_id FROM ptys p JOIN workspaces w ON w.seq = p.workspace_seq`;

/** The PTYs' SQL, as prepared statements. Only the PTYs module touches this table. */
export class PtyTables {
  private readonly insertRow;
  private readonly updateRow;
  private readonly selectById;
  private readonly selectByPrefix;
  private readonly selectByName;
  private readonly selectRunning;
  private readonly pages: ProcessPages<PtyRow>;
  private readonly selectMaxSeq;
  private readonly deleteRow;
  private readonly selectIdsInWorkspace;

  constructor(db: Db) {
    this.insertRow = db.prepare(
      `INSERT INTO ptys (seq, id, workspace_seq, argv, cwd, name, labels, cols, rows, size_policy, status, pid, start_ticks, created_at)
       VALUES (@seq, @id, @workspace_seq, @argv, @cwd, @name, @labels, @cols, @rows, @size_policy, @status, @pid, @start_ticks, @created_at)`,
    );
    this.updateRow = db.prepare(
      `UPDATE ptys SET name = @name, cols = @cols, rows = @rows, status = @status, exit_code = @exit_code, signal = @signal, error = @error, ended_at = @ended_at WHERE seq = @seq`,
    );
    this.selectById = db.prepare(`${SELECT} WHERE p.id = ?`);
    this.selectByPrefix = db.prepare(`${SELECT} WHERE p.id >= ? AND p.id < ? ORDER BY p.id LIMIT 6`);
    this.selectByName = db.prepare(`${SELECT} WHERE p.name = ? ORDER BY p.status = 'running' DESC, p.seq DESC LIMIT 1`);
    this.selectRunning = db.prepare(`${SELECT} WHERE p.status = 'running' ORDER BY p.seq`);
    this.pages = new ProcessPages(db, SELECT, "p", "p.status = 'running'");
    this.selectMaxSeq = db.prepare(`SELECT COALESCE(MAX(seq), 0) AS seq FROM ptys`);
    this.deleteRow = db.prepare(`DELETE FROM ptys WHERE seq = ?`);
    this.selectIdsInWorkspace = db.prepare(`SELECT id FROM ptys WHERE workspace_seq = ? ORDER BY seq`).pluck();
  }

  /** Deletes the row (its output journal goes in the same transaction); false when there was none. */
  delete(seq: number): boolean {
    return this.deleteRow.run(seq).changes > 0;
  }

  /** The ids of a workspace's rows, oldest first. */
  idsInWorkspace(workspaceSeq: number): string[] {
    return this.selectIdsInWorkspace.all(workspaceSeq) as string[];
  }

  maxSeq(): number {
    return (this.selectMaxSeq.get() as { seq: number }).seq;
  }

  insert(pty: PtyRecord, startTicks: number | undefined): void {
    this.insertRow.run({
      seq: pty.seq,
      id: pty.id,
      workspace_seq: pty.workspaceSeq,
      argv: JSON.stringify(pty.argv),
      cwd: pty.cwd,
      name: pty.name ?? null,
      labels: Object.keys(pty.labels).length === 0 ? null : JSON.stringify(pty.labels),
      cols: pty.size.cols,
      rows: pty.size.rows,
      size_policy: pty.sizePolicy,
      status: pty.status,
      pid: pty.pid ?? null,
      start_ticks: startTicks ?? null,
      created_at: pty.createdAt,
    });
  }

  update(pty: PtyRecord): void {
    this.updateRow.run({
      seq: pty.seq,
      name: pty.name ?? null,
      cols: pty.size.cols,
      rows: pty.size.rows,
      status: pty.status,
      exit_code: pty.exitCode ?? null,
      signal: pty.signal ?? null,
      error: pty.error ?? null,
      ended_at: pty.endedAt ?? null,
    });
  }

  byId(id: string): StoredPty | undefined {
    const row = this.selectById.get(id) as PtyRow | undefined;
    return row === undefined ? undefined : toRecord(row);
  }

  /** The open PTY named `name`, else the newest closed one. */
  byName(name: string): StoredPty | undefined {
    const row = this.selectByName.get(name) as PtyRow | undefined;
    return row === undefined ? undefined : toRecord(row);
  }

  byPrefix(prefix: string): StoredPty[] {
    return (this.selectByPrefix.all(prefix, prefixUpperBound(prefix)) as PtyRow[]).map(toRecord);
  }

  running(): StoredPty[] {
    return (this.selectRunning.all() as PtyRow[]).map(toRecord);
  }

  /** PTYs newest first, before `beforeSeq`: of one workspace when workspaceSeq is given, open ones only, with every label selected. */
  page(filter: ProcessFilter, beforeSeq: number, limit: number): StoredPty[] {
    return this.pages.page(filter, beforeSeq, limit).map(toRecord);
  }
}

function toRecord(row: PtyRow): StoredPty {
  return {
    seq: row.seq,
    id: row.id,
    workspaceSeq: row.workspace_seq,
    workspaceId: row.workspace_id,
    argv: JSON.parse(row.argv) as string[],
    cwd: row.cwd,
    name: row.name ?? undefined,
    labels: row.labels === null ? {} : (JSON.parse(row.labels) as Record<string, string>),
    size: { cols: row.cols, rows: row.rows },
    sizePolicy: row.size_policy as SizePolicy,
    status: row.status as ExecStatus,
    pid: row.pid ?? undefined,
    startTicks: row.start_ticks ?? undefined,
    exitCode: row.exit_code ?? undefined,
    signal: row.signal ?? undefined,
    error: row.error ?? undefined,
    createdAt: row.created_at,
    endedAt: row.ended_at ?? undefined,
  };
}
