import { prefixUpperBound } from "../ids.js";
import type { Db } from "../store/database.js";
import type { LabelSelector } from "./labels.js";
import type { SandboxProfile, WorkspaceRecord, WorkspaceState } from "./types.js";

interface WorkspaceRow {
  seq: number;
  id: string;
  name: string;
  root: string;
  adopted: number;
  sandbox: string;
  no_network: number;
  labels: string;
  env: string | null;
  state: string;
  created_at: number;
  deleted_at: number | null;
}

/** The workspaces' SQL, as prepared statements. Only the workspaces module touches this table. */
export class WorkspaceTables {
  private readonly insertRow;
  private readonly updateRow;
  private readonly selectById;
  private readonly selectBySeq;
  private readonly selectByPrefix;
  private readonly selectActiveByName;
  private readonly selectAdoptedRoot;
  private readonly selectActiveByRoot;
  private readonly selectPage;
  private readonly selectActivePage;
  private readonly selectMaxSeq;
  private readonly selectActiveNames;

  constructor(private readonly db: Db) {
    this.insertRow = db.prepare(
      `INSERT INTO workspaces (seq, id, name, root, adopted, sandbox, no_network, labels, env, state, created_at)
       VALUES (@seq, @id, @name, @root, @adopted, @sandbox, @no_network, @labels, @env, @state, @created_at)`,
    );
    this.updateRow = db.prepare(`UPDATE workspaces SET labels = @labels, env = @env, state = @state, deleted_at = @deleted_at WHERE seq = @seq`);
    this.selectById = db.prepare(`SELECT * FROM workspaces WHERE id = ?`);
    this.selectBySeq = db.prepare(`SELECT * FROM workspaces WHERE seq = ?`);
    this.selectByPrefix = db.prepare(`SELECT * FROM workspaces WHERE id >= ? AND id < ? ORDER BY id LIMIT 6`);
    this.selectActiveByName = db.prepare(`SELECT * FROM workspaces WHERE name = ? AND state = 'active'`);
    this.selectAdoptedRoot = db.prepare(`SELECT * FROM workspaces WHERE root = ? AND adopted = 1 AND sandbox = 'host' AND state = 'active' ORDER BY seq LIMIT 1`);
    this.selectActiveByRoot = db.prepare(`SELECT * FROM workspaces WHERE root = ? AND state = 'active' ORDER BY seq LIMIT 6`);
    this.selectPage = db.prepare(`SELECT * FROM workspaces WHERE seq > ? ORDER BY seq LIMIT ?`);
    this.selectActivePage = db.prepare(`SELECT * FROM workspaces WHERE seq > ? AND state = 'active' ORDER BY seq LIMIT ?`);
    this.selectMaxSeq = db.prepare(`SELECT COALESCE(MAX(seq), 0) AS seq FROM workspaces`);
    this.selectActiveNames = db.prepare(`SELECT name FROM workspaces WHERE state = 'active' ORDER BY seq`).pluck();
  }

  maxSeq(): number {
    return (this.selectMaxSeq.get() as { seq: number }).seq;
  }

  insert(ws: WorkspaceRecord): void {
    this.insertRow.run({
      seq: ws.seq,
      id: ws.id,
      name: ws.name,
      root: ws.root,
      adopted: ws.adopted ? 1 : 0,
      sandbox: ws.sandbox,
      no_network: ws.noNetwork ? 1 : 0,
      labels: JSON.stringify(ws.labels),
      env: envColumn(ws.env),
      state: ws.state,
      created_at: ws.createdAt,
    });
  }

  update(ws: WorkspaceRecord): void {
    this.updateRow.run({ seq: ws.seq, labels: JSON.stringify(ws.labels), env: envColumn(ws.env), state: ws.state, deleted_at: ws.deletedAt ?? null });
  }

  byId(id: string): WorkspaceRecord | undefined {
    return toRecord(this.selectById.get(id) as WorkspaceRow | undefined);
  }

  bySeq(seq: number): WorkspaceRecord | undefined {
    return toRecord(this.selectBySeq.get(seq) as WorkspaceRow | undefined);
  }

  /** Up to 6 workspaces whose id starts with `prefix`. */
  byPrefix(prefix: string): WorkspaceRecord[] {
    return (this.selectByPrefix.all(prefix, prefixUpperBound(prefix)) as WorkspaceRow[]).map((row) => toRecord(row)!);
  }

  /** The active workspaces whose root is `root`, oldest first (a few at most). */
  activeByRoot(root: string): WorkspaceRecord[] {
    return (this.selectActiveByRoot.all(root) as WorkspaceRow[]).map((row) => toRecord(row)!);
  }

  activeByName(name: string): WorkspaceRecord | undefined {
    return toRecord(this.selectActiveByName.get(name) as WorkspaceRow | undefined);
  }

  /** Every active workspace's name, oldest first. */
  activeNames(): string[] {
    return this.selectActiveNames.all() as string[];
  }

  /** The active host workspace that adopted this directory, if any. */
  adoptedRoot(root: string): WorkspaceRecord | undefined {
    return toRecord(this.selectAdoptedRoot.get(root) as WorkspaceRow | undefined);
  }

  /** Workspaces after `afterSeq` in creation order; with selectors, only those whose labels match every one. */
  page(afterSeq: number, limit: number, includeArchived: boolean, selectors: readonly LabelSelector[]): WorkspaceRecord[] {
    if (selectors.length === 0) {
      const rows = (includeArchived ? this.selectPage : this.selectActivePage).all(afterSeq, limit) as WorkspaceRow[];
      return rows.map((row) => toRecord(row)!);
    }
    // A statement per listing: the selectors vary, and a listing is rare beside what it costs.
    const matches = selectors.map((s) => `EXISTS (SELECT 1 FROM json_each(labels) WHERE key = ?${s.value === undefined ? "" : " AND value = ?"})`);
    const select = this.db.prepare(`SELECT * FROM workspaces WHERE seq > ?${includeArchived ? "" : " AND state = 'active'"} AND ${matches.join(" AND ")} ORDER BY seq LIMIT ?`);
    const rows = select.all(afterSeq, ...selectors.flatMap((s) => (s.value === undefined ? [s.key] : [s.key, s.value])), limit) as WorkspaceRow[];
    return rows.map((row) => toRecord(row)!);
  }
}

function toRecord(row: WorkspaceRow | undefined): WorkspaceRecord | undefined {
  if (row === undefined) return undefined;
  return {
    seq: row.seq,
    id: row.id,
    name: row.name,
    root: row.root,
    adopted: row.adopted === 1,
    sandbox: row.sandbox as SandboxProfile,
    noNetwork: row.no_network === 1,
    labels: JSON.parse(row.labels) as Record<string, string>,
    env: row.env === null ? {} : (JSON.parse(row.env) as Record<string, string>),
    state: row.state as WorkspaceState,
    createdAt: row.created_at,
    deletedAt: row.deleted_at ?? undefined,
  };
}

/** A workspace's env as its column holds it: NULL for none. */
function envColumn(env: Readonly<Record<string, string>>): string | null {
  return Object.keys(env).length === 0 ? null : JSON.stringify(env);
}
