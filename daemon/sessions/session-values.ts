import { isTruthy, renderTemplate, type TemplateScope } from "../tasks/template.js";
import type { SessionTables } from "./session-tables.js";
import type { SessionRecord } from "./types.js";

/**
 * What a live session's templates see and its tasks hand on: its inputs
 * (the secret ones' values in memory only, never stored), its xcom, the
 * daemon's env.
 */
export class SessionValues {
  constructor(
    private readonly session: SessionRecord,
    /** Secret input values: in memory only, never stored. */
    readonly secrets: Readonly<Record<string, string>>,
    private readonly tables: SessionTables,
    private readonly env: TemplateScope["env"],
  ) {}

  /** Sets xcom `key` (a task's result, SetXcom); returns when. */
  setXcom(key: string, value: string, now = Date.now()): number {
    this.tables.setXcom(this.session.seq, key, value, now);
    return now;
  }

  /** Template values: with the secret inputs' values (what a run is given), else SECRET_PLACEHOLDER for them (what is stored and shown). */
  scope(withSecrets: boolean): TemplateScope {
    const xcom = this.tables.xcom(this.session.seq);
    return { inputs: { ...this.session.spec.inputs, ...(withSecrets ? this.secrets : {}) }, xcom: Object.fromEntries(xcom.map((x) => [x.key, x.value])), env: this.env };
  }

  /** Whether a task's condition renders true now (inputs and xcom as they are). */
  readonly conditionHolds = (condition: string): boolean => isTruthy(renderTemplate(condition, this.scope(false)));
}
