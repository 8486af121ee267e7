import { isTruthy, renderTemplate, type TemplateScope } from "../tasks/template.js";
import type { SessionTables } from "./session-tables.js";
import type { SessionEnv, SessionRecord } from "./types.js";
import { invalidArgument } from "../errors.js";

/** A task's name (its result is stored under it) or a key of a run's own. */
const XCOM_KEY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const XCOM_VALUE_MAX_BYTES = 1024 * 1024;

/** Refuses an xcom value a client sets (SetXcom, tether xcom set) whose key or size no task could use. */
export function checkXcomSet(key: string, value: string): void {
  if (!XCOM_KEY_PATTERN.test(key)) throw invalidArgument("key", `invalid xcom key ${JSON.stringify(key)}: use 1-128 letters, digits, '.', '_', ':' or '-'`);
  if (Buffer.byteLength(value) > XCOM_VALUE_MAX_BYTES) throw invalidArgument("value", `an xcom value holds at most ${XCOM_VALUE_MAX_BYTES} bytes`);
}

/**
 * What a live session's templates see and its tasks hand on: its inputs
 * (the secret ones' values in memory only, never stored), its xcom, the
 * daemon's env with what its start gave (run -E, --env).
 */
export class SessionValues {
  /** What `{{ env.NAME }}` reads (templateEnv). */
  private readonly env: TemplateScope["env"];

  constructor(
    private readonly session: SessionRecord,
    /** Secret input values: in memory only, never stored. */
    readonly secrets: Readonly<Record<string, string>>,
    private readonly tables: SessionTables,
    daemonEnv: TemplateScope["env"],
  ) {
    this.env = templateEnv(daemonEnv, session.spec.env);
  }

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

/** What a session's templates read as `{{ env.NAME }}`: the daemon's env, then what its start gave its runs (run -E, then --env). */
export function templateEnv(daemonEnv: TemplateScope["env"], env: SessionEnv | undefined): TemplateScope["env"] {
  return env === undefined ? daemonEnv : { ...daemonEnv, ...env.inherited, ...env.given };
}
