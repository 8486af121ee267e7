import type { Db } from "../store/database.js";
import { labelConditions, type LabelSelector } from "./labels.js";

/** Which of a kind's rows a listing takes: of one workspace (all when undefined), live ones only, with every label selected, of one queue (execs'; every one when undefined). */
export interface ProcessFilter {
  readonly workspaceSeq: number | undefined;
  readonly liveOnly: boolean;
  readonly labels: readonly LabelSelector[];
  readonly queue?: string | undefined;
}

/**
 * Pages of an exec's or a PTY's rows, newest first, as a listing filters
 * them (ProcessFilter): one prepared statement per shape of filter, made
 * once. `select` reads the rows (with `alias` for the table), whose
 * `labels` is a JSON object; `live` is the condition of a live one's row
 * (its status); `queue`, the expression of a row's queue, if the kind has one.
 */
export class ProcessPages<Row> {
  private readonly statements = new Map<string, ReturnType<Db["prepare"]>>();

  constructor(
    private readonly db: Db,
    private readonly select: string,
    private readonly alias: string,
    private readonly live: string,
    private readonly queue?: string,
  ) {}

  /** Rows before `beforeSeq`, newest first, at most `limit`. */
  page(filter: ProcessFilter, beforeSeq: number, limit: number): Row[] {
    const a = this.alias;
    const labels = labelConditions(`${a}.labels`, filter.labels);
    const where = [`${a}.seq < @before`, ...labels.where];
    if (filter.workspaceSeq !== undefined) where.push(`${a}.workspace_seq = @workspace`);
    if (filter.liveOnly) where.push(this.live);
    const byQueue = filter.queue !== undefined && this.queue !== undefined;
    if (byQueue) where.push(`${this.queue} = @queue`);
    const sql = `${this.select} WHERE ${where.join(" AND ")} ORDER BY ${a}.seq DESC LIMIT @limit`;
    let statement = this.statements.get(sql);
    if (statement === undefined) this.statements.set(sql, (statement = this.db.prepare(sql)));
    const params = { ...labels.params, before: beforeSeq, limit, ...(filter.workspaceSeq !== undefined ? { workspace: filter.workspaceSeq } : {}), ...(byQueue ? { queue: filter.queue } : {}) };
    return statement.all(params) as Row[];
  }
}
