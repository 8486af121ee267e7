import { prefixUpperBound } from "../ids.js";
import type { Db } from "../store/database.js";
import type { RestartPolicy } from "./exec-restarts.js";
import { ProcessPages, type ProcessFilter } from "./process-pages.js";
import type { Readiness } from "../tasks/types.js";
import type { ExecRecord, ExecStatus } from "./types.js";

interface ExecRow {
  seq: number;
  id: string;
  workspace_seq: number;
  workspace_id: string;
  argv: string;
  cwd: string;
  env_keys: string;
  tty: number;
  name: string | null;
  restart: string | null;
  labels: string | null;
  status: string;
  pid: number | null;
  start_ticks: number | null;
  exit_code: number | null;
  signal: string | null;
  error: string | null;
  stdout_bytes: number;
  stderr_bytes: number;
  created_at: number;
  started_at: number | null;
  ended_at: number | null;
  ready_at: number | null;
  readiness_error: string | null;
}

/** What an exec was started with beyond its record: with its argv, workspace and name, enough to start it again. */
export interface RestartSpec {
  /** As asked, relative to the workspace's root. */
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
  readonly stdin: boolean;
  readonly tty: { readonly cols: number; readonly rows: number } | undefined;
  readonly outputMaxBytes: number;
  readonly restartPolicy?: RestartPolicy | undefined;
  /** Restarts of its line (its policy's) before it; absent: 0. */
  readonly restarts?: number | undefined;
  /** The delay before its policy started it; absent: 0. */
  readonly delayMs?: number | undefined;
  /** The id of the first exec of its policy's line (its own for the first); absent: its own. */
  readonly line?: string | undefined;
  /** How long it may run (exec --timeout); absent: no limit. */
  readonly timeoutMs?: number | undefined;
  /** The queue it runs in (exec --queue); absent: none. */
  readonly queue?: string | undefined;
  /** The ids of the execs it starts after (exec --after); absent: none. */
  readonly after?: readonly string[] | undefined;
  /** The time it starts no sooner than (exec --delay, --at); absent: none. */
  readonly startAt?: number | undefined;
  /** When it counts as ready (exec --ready-http ...); absent: no checks. */
  readonly readiness?: Readiness | undefined;
  /** Its priority in its queue (exec --priority); absent: 0. */
  readonly priority?: number | undefined;
}

/** An exec row with what is needed to recognise its process after a restart. */
export interface StoredExec extends ExecRecord {
  readonly startTicks: number | undefined;
}

const SELECT = `SELECT e.*, w.id AS workspace_id FROM execs e JOIN workspaces w ON w.seq = e.workspace_seq`;

/** The execs' SQL, as prepared statements. Only the execs module touches this table. */
export class ExecTables {
  private readonly insertRow;
  private readonly updateRow;
  private readonly updateProcess;
  private readonly updateStarted;
  private readonly selectQueued;
  private readonly selectById;
  private readonly selectByPrefix;
  private readonly selectByName;
  private readonly selectRestart;
  private readonly markResumeRow;
  private readonly clearResumeRow;
  private readonly selectToResume;
  private readonly selectEndedOfLine;
  private readonly selectNextOfLine;
  private readonly selectRunning;
  private readonly pages: ProcessPages<ExecRow>;
  private readonly selectMaxSeq;
  private readonly deleteRow;
  private readonly selectIdsInWorkspace;
  private readonly updateReadiness;
  private readonly updateName;

  constructor(db: Db) {
    this.pages = new ProcessPages(db, SELECT, "e", "e.status IN ('running', 'queued')", "json_extract(e.restart, '$.queue')");
    this.updateStarted = db.prepare(`UPDATE execs SET status = 'running', cwd = ?, started_at = ? WHERE seq = ?`);
    this.selectQueued = db.prepare(`${SELECT} WHERE e.status = 'queued' ORDER BY e.seq`);
    this.updateProcess = db.prepare(`UPDATE execs SET pid = ?, start_ticks = ? WHERE seq = ?`);
    this.insertRow = db.prepare(
      `INSERT INTO execs (seq, id, workspace_seq, argv, cwd, env_keys, tty, name, restart, labels, status, pid, start_ticks, stdout_bytes, stderr_bytes, created_at)
       VALUES (@seq, @id, @workspace_seq, @argv, @cwd, @env_keys, @tty, @name, @restart, @labels, @status, @pid, @start_ticks, 0, 0, @created_at)`,
    );
    this.updateRow = db.prepare(
      `UPDATE execs SET status = @status, exit_code = @exit_code, signal = @signal, error = @error,
       stdout_bytes = @stdout_bytes, stderr_bytes = @stderr_bytes, ended_at = @ended_at WHERE seq = @seq`,
    );
    this.selectById = db.prepare(`${SELECT} WHERE e.id = ?`);
    this.selectByPrefix = db.prepare(`${SELECT} WHERE e.id >= ? AND e.id < ? ORDER BY e.id LIMIT 6`);
    this.selectByName = db.prepare(`${SELECT} WHERE e.name = ? ORDER BY e.status IN ('running', 'queued') DESC, e.seq DESC LIMIT 1`);
    this.selectRestart = db.prepare(`SELECT restart FROM execs WHERE seq = ?`).pluck();
    this.markResumeRow = db.prepare(`UPDATE execs SET restart = json_set(restart, '$.resumeAtStart', json('true')) WHERE seq = ? AND restart IS NOT NULL`);
    this.clearResumeRow = db.prepare(`UPDATE execs SET restart = json_remove(restart, '$.resumeAtStart') WHERE seq = ?`);
    this.selectToResume = db.prepare(`${SELECT} WHERE json_extract(e.restart, '$.resumeAtStart') = 1 ORDER BY e.seq`);
    this.selectEndedOfLine = db.prepare(`SELECT id FROM execs WHERE json_extract(restart, '$.line') = ? AND status NOT IN ('running', 'queued') ORDER BY seq DESC LIMIT -1 OFFSET ?`).pluck();
    this.selectNextOfLine = db.prepare(`${SELECT} WHERE json_extract(e.restart, '$.line') = ? AND e.seq > ? ORDER BY e.seq LIMIT 1`);
    this.selectRunning = db.prepare(`${SELECT} WHERE e.status = 'running' ORDER BY e.seq`);
    this.selectMaxSeq = db.prepare(`SELECT COALESCE(MAX(seq), 0) AS seq FROM execs`);
    this.deleteRow = db.prepare(`DELETE FROM execs WHERE seq = ?`);
    this.selectIdsInWorkspace = db.prepare(`SELECT id FROM execs WHERE workspace_seq = ? ORDER BY seq`).pluck();
    this.updateReadiness = db.prepare(`UPDATE execs SET ready_at = ?, readiness_error = ? WHERE seq = ?`);
    this.updateName = db.prepare(`UPDATE execs SET name = ? WHERE seq = ?`);
  }

  /** Records an exec's new name (exec rename). */
  saveName(exec: ExecRecord): void {
    this.updateName.run(exec.name ?? null, exec.seq);
  }

  /** Records what its readiness checks found: when it became ready, or why not. */
  saveReadiness(exec: ExecRecord): void {
    this.updateReadiness.run(exec.readyAt ?? null, exec.readinessError ?? null, exec.seq);
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

  insert(exec: ExecRecord, restart: RestartSpec): void {
    this.insertRow.run({
      seq: exec.seq,
      id: exec.id,
      workspace_seq: exec.workspaceSeq,
      argv: JSON.stringify(exec.argv),
      cwd: exec.cwd,
      env_keys: JSON.stringify(exec.envKeys),
      tty: exec.tty ? 1 : 0,
      name: exec.name ?? null,
      restart: JSON.stringify(restart),
      labels: Object.keys(exec.labels).length === 0 ? null : JSON.stringify(exec.labels),
      status: exec.status,
      pid: exec.pid ?? null,
      start_ticks: null,
      created_at: exec.createdAt,
    });
  }

  /** Records that a queued exec's process starts, in `cwd`. */
  markStarted(exec: ExecRecord): void {
    this.updateStarted.run(exec.cwd, exec.startedAt ?? null, exec.seq);
  }

  /** The execs waiting in a queue, oldest first. */
  queued(): StoredExec[] {
    return (this.selectQueued.all() as ExecRow[]).map(toRecord);
  }

  /** Records the exec's process once it runs, so a daemon that crashes can stop it on restart. */
  saveProcess(seq: number, pid: number, startTicks: number | undefined): void {
    this.updateProcess.run(pid, startTicks ?? null, seq);
  }

  /** Records how the exec ended. */
  update(exec: ExecRecord): void {
    this.updateRow.run({
      seq: exec.seq,
      status: exec.status,
      exit_code: exec.exitCode ?? null,
      signal: exec.signal ?? null,
      error: exec.error ?? null,
      stdout_bytes: exec.stdoutBytes,
      stderr_bytes: exec.stderrBytes,
      ended_at: exec.endedAt ?? null,
    });
  }

  byId(id: string): StoredExec | undefined {
    const row = this.selectById.get(id) as ExecRow | undefined;
    return row === undefined ? undefined : toRecord(row);
  }

  /** What the exec was started with, to start it again; undefined for one started before tether kept it. */
  restartSpec(seq: number): RestartSpec | undefined {
    const json = this.selectRestart.get(seq) as string | null | undefined;
    return json === null || json === undefined ? undefined : (JSON.parse(json) as RestartSpec);
  }

  /** Marks an exec the daemon stops (its policy is always) to start again when the next daemon starts. */
  markResume(seq: number): void {
    this.markResumeRow.run(seq);
  }

  /** The execs marked to start again as this daemon starts, oldest first. */
  toResume(): StoredExec[] {
    return (this.selectToResume.all() as ExecRow[]).map(toRecord);
  }

  /** Takes the mark away once the exec has been started again. */
  clearResume(seq: number): void {
    this.clearResumeRow.run(seq);
  }

  /** The ended execs of a restart line (`line`: its first exec's id) but its newest `keep`, newest first. */
  endedOfLine(line: string, keep: number): string[] {
    return this.selectEndedOfLine.all(line, keep) as string[];
  }

  /** The exec of restart line `line` started next after exec `seq`, if one was. */
  nextOfLine(line: string, seq: number): StoredExec | undefined {
    const row = this.selectNextOfLine.get(line, seq) as ExecRow | undefined;
    return row === undefined ? undefined : toRecord(row);
  }

  /** The running exec named `name`, else the newest ended one. */
  byName(name: string): StoredExec | undefined {
    const row = this.selectByName.get(name) as ExecRow | undefined;
    return row === undefined ? undefined : toRecord(row);
  }

  /** Up to 6 execs whose id starts with `prefix`. */
  byPrefix(prefix: string): StoredExec[] {
    return (this.selectByPrefix.all(prefix, prefixUpperBound(prefix)) as ExecRow[]).map(toRecord);
  }

  /** Execs recorded running: at daemon start, the ones the last daemon lost. */
  running(): StoredExec[] {
    return (this.selectRunning.all() as ExecRow[]).map(toRecord);
  }

  /** Execs newest first, before `beforeSeq`: of one workspace when workspaceSeq is given, running ones only, with every label selected. */
  page(filter: ProcessFilter, beforeSeq: number, limit: number): StoredExec[] {
    return this.pages.page(filter, beforeSeq, limit).map(toRecord);
  }
}

function toRecord(row: ExecRow): StoredExec {
  return {
    seq: row.seq,
    id: row.id,
    workspaceSeq: row.workspace_seq,
    workspaceId: row.workspace_id,
    argv: JSON.parse(row.argv) as string[],
    cwd: row.cwd,
    envKeys: JSON.parse(row.env_keys) as string[],
    tty: row.tty === 1,
    name: row.name ?? undefined,
    ...restartLine(row.restart),
    labels: row.labels === null ? {} : (JSON.parse(row.labels) as Record<string, string>),
    status: row.status as ExecStatus,
    pid: row.pid ?? undefined,
    startTicks: row.start_ticks ?? undefined,
    exitCode: row.exit_code ?? undefined,
    signal: row.signal ?? undefined,
    error: row.error ?? undefined,
    stdoutBytes: row.stdout_bytes,
    stderrBytes: row.stderr_bytes,
    createdAt: row.created_at,
    readyAt: row.ready_at ?? undefined,
    readinessError: row.readiness_error ?? undefined,
    startedAt: row.started_at ?? undefined,
    endedAt: row.ended_at ?? undefined,
  };
}

/** An exec's restart policy, its place in its line, its queue, what it starts after and when, and its readiness checks, from its row's restart column. */
function restartLine(json: string | null): Pick<ExecRecord, "restartPolicy" | "restarts" | "timeoutMs" | "queue" | "after" | "startAt" | "readiness" | "priority"> {
  const spec = json === null ? undefined : (JSON.parse(json) as RestartSpec);
  return {
    restartPolicy: spec?.restartPolicy,
    restarts: spec?.restarts ?? 0,
    timeoutMs: spec?.timeoutMs ?? 0,
    queue: spec?.queue === "" ? undefined : spec?.queue,
    after: spec?.after ?? [],
    startAt: spec?.startAt,
    readiness: spec?.readiness,
    priority: spec?.priority ?? 0,
  };
}
