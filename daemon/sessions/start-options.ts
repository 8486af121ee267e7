import { formatMs } from "../../common/format.js";
import { invalidArgument } from "../errors.js";
import { checkStartAt } from "../start-time.js";
import type { TaskDef } from "../tasks/types.js";
import { checkEnvNames } from "../workspaces/launch.js";
import type { SessionEnv, XcomValue } from "./types.js";

/** What a client asks of a new session (StartSessionRequest, as the service translates it). */
export interface StartOptions {
  readonly task: string;
  readonly taskFile: string;
  readonly inputs: Readonly<Record<string, string>>;
  readonly externalId: string;
  readonly parallelism: number;
  readonly failFast: boolean;
  readonly ttlMs: number;
  readonly idleTimeoutMs: number;
  /** Workspace id, prefix or name; empty: the task file's directory, adopted. */
  readonly workspace: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Keep about this many bytes of output (0: the main task's max_output, else all of it). */
  readonly outputMaxBytes: number;
  /** Start its graph no sooner than this time (ms since the epoch); undefined: at once. */
  readonly startAt?: number | undefined;
  /** Start its graph once these sessions (ids or prefixes) have ended, each a success; else it is cancelled. */
  readonly after?: readonly string[];
  /** What its runs' env gets (tether run -E, --env); undefined: nothing. */
  readonly env?: SessionEnv | undefined;
  /** Run every task, up to date with its sources or not (tether run --force). */
  readonly force?: boolean;
}

/** What a new session runs: StartOptions with the task file read and the graph resolved (or a rerun's, as recorded). */
export interface SessionPlan extends StartOptions {
  readonly graph: readonly TaskDef[];
  readonly rerunOf: string | undefined;
  /** The workspace each task naming one runs in, by task name (a name from the task file, or a rerun's pinned id). */
  readonly taskWorkspaces: Readonly<Record<string, string>>;
  /** A rerun of what did not succeed (rerun-failed.ts): the tasks done already, and the xcom values it starts with. */
  readonly carried?: { readonly tasks: ReadonlyMap<string, string>; readonly xcom: readonly XcomValue[] };
}

/** A new session's start time, if still to come (checkStartAt); refused when its ttl, counted from now, would end it first. */
export function checkSessionStart(plan: StartOptions, now: number): number | undefined {
  const startAt = checkStartAt(plan.startAt, "a session", now);
  if (startAt === undefined || plan.ttlMs === 0 || startAt < now + plan.ttlMs) return startAt;
  throw invalidArgument("ttl", `a ttl of ${formatMs(plan.ttlMs)} ends the session before its start at ${new Date(startAt).toISOString()} (a ttl counts from now): give a longer one, or none`);
}

/** A new session's env (run -E, --env), checked as an exec's; undefined when it gives nothing. */
export function checkSessionEnv(env: SessionEnv | undefined): SessionEnv | undefined {
  if (env === undefined) return undefined;
  checkEnvNames(env.inherited, "inherited_env");
  checkEnvNames(env.given, "env");
  return Object.keys(env.inherited).length + Object.keys(env.given).length === 0 ? undefined : env;
}
