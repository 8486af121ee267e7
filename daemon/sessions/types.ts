import type { TaskDef } from "../tasks/types.js";
import type { SandboxSpec } from "../workspaces/sandbox.js";

/** A session's lifecycle; only `open` may change, and only once. */
export type SessionStatus = "open" | "closed" | "cancelled" | "expired";

/** Derived from the runs of an open session; never stored. */
export type Activity = "idle" | "queued" | "running" | "waiting";

export type RunStatus = "pending" | "queued" | "running" | "ready" | "waiting" | "succeeded" | "failed" | "skipped" | "cancelled" | "lost";

/** The statuses of a run whose process is alive. */
export const LIVE_RUN_STATUSES: ReadonlySet<RunStatus> = new Set(["running", "ready", "waiting"]);

/** The statuses a run never leaves. */
export const FINAL_RUN_STATUSES: ReadonlySet<RunStatus> = new Set(["succeeded", "failed", "skipped", "cancelled", "lost"]);

/** One entry of a run's state log. */
export interface Transition {
  readonly status: RunStatus;
  readonly at: number;
  readonly reason: string;
}

/** A run as stored: one attempt of one task. */
export interface RunRecord {
  readonly number: number;
  readonly task: string;
  readonly attempt: number;
  status: RunStatus;
  pid: number | undefined;
  /** The process's start time in clock ticks since boot (/proc/PID/stat), to recognise it after a daemon restart. */
  startTicks: number | undefined;
  exitCode: number | undefined;
  reason: string;
  command: string;
  transitions: Transition[];
}

/** What a session was started with: recorded once, so the session says what it ran. */
export interface SessionSpec {
  readonly taskFile: string;
  readonly workingDirectory: string;
  /** The main task's graph, upstreams first, as the task file defined it at start. */
  readonly tasks: readonly TaskDef[];
  /** Input values; secrets are stored as SECRET_PLACEHOLDER. */
  readonly inputs: Readonly<Record<string, string>>;
  readonly secretInputs: readonly string[];
  readonly parallelism: number;
  readonly failFast: boolean;
  /** 0: none. */
  readonly ttlMs: number;
  /** 0: none. */
  readonly idleTimeoutMs: number;
  /** The workspace the runs execute in (absent in sessions recorded before workspaces: the host, in workingDirectory). */
  readonly workspace?: SessionWorkspace;
  /** The workspaces of the tasks that name their own (`workspace:`), by task name; absent when none does. */
  readonly taskWorkspaces?: Readonly<Record<string, SessionWorkspace>>;
  /** The session this one started again (Sessions.rerun), when it is a rerun. */
  readonly rerunOf?: string;
  /** How much of its output its log keeps, in bytes (the oldest dropped); absent: all of it. */
  readonly outputMaxBytes?: number;
  /** The time its graph starts no sooner than (tether run --at, --delay); absent: at once. */
  readonly startAt?: number;
  /** The sessions (ids) its graph starts after, each once it has ended a success (tether run --after); absent: none. */
  readonly after?: readonly string[];
  /** What its start gave its runs' env (tether run -E, --env); absent: nothing. */
  readonly env?: SessionEnv;
  /** Its runs run even when up to date with their sources (tether run --force); absent: not. */
  readonly force?: boolean;
}

/** What a session's start gives its runs' env besides the daemon's, its workspace's and its tasks' own. */
export interface SessionEnv {
  /** Under its tasks' env_file and env (tether run -E: the shell's environment). */
  readonly inherited: Readonly<Record<string, string>>;
  /** Over everything, its tasks' env included (tether run --env, --dotenv). */
  readonly given: Readonly<Record<string, string>>;
}

/** The workspace a session runs in, as pinned at its start. */
export interface SessionWorkspace extends SandboxSpec {
  readonly id: string;
}

export const SECRET_PLACEHOLDER = "<secret>";

/** A session as stored. */
export interface SessionRecord {
  readonly seq: number;
  readonly id: string;
  readonly task: string;
  status: SessionStatus;
  readonly externalId: string | undefined;
  /** What a client tagged it with to find it again (workspaces/labels.ts). */
  readonly labels: Readonly<Record<string, string>>;
  readonly spec: SessionSpec;
  result: string | undefined;
  error: string | undefined;
  exitCode: number | undefined;
  readonly createdAt: number;
  updatedAt: number;
  endedAt: number | undefined;
}

/** A session as a reader sees it: the record plus what it is doing now. */
export interface SessionView extends Readonly<SessionRecord> {
  readonly activity: Activity;
  readonly waitingFor: string;
  /** Where its output log starts now: 0 unless spec.outputMaxBytes dropped some. */
  readonly outputFirstOffset: number;
  /** Some live run is paused (session-signals.ts runPaused). */
  readonly paused: boolean;
  /** Some ready service is unhealthy (run-wiring.ts runUnhealthy). */
  readonly unhealthy: boolean;
}

export interface XcomValue {
  readonly key: string;
  readonly value: string;
  readonly updatedAt: number;
}
