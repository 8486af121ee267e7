import type { RestartPolicy } from "./exec-restarts.js";
import type { Readiness } from "../tasks/types.js";

/** How processes in a workspace are run: as the user sees the host, or inside bubblewrap. */
export type SandboxProfile = "host" | "bwrap";

export type WorkspaceState = "active" | "archived";

/** Derived from a workspace's live processes; never stored. */
export type Materialization = "stopped" | "live" | "stopping";

/** A workspace as stored. */
export interface WorkspaceRecord {
  readonly seq: number;
  readonly id: string;
  readonly name: string;
  /** Absolute, symlinks resolved. */
  readonly root: string;
  /** True when root is the user's directory (--path): never deleted by tether. */
  readonly adopted: boolean;
  readonly sandbox: SandboxProfile;
  readonly noNetwork: boolean;
  labels: Record<string, string>;
  /** Variables every process started in it gets, over the daemon's and under the process's own (ws create --env). */
  env: Record<string, string>;
  state: WorkspaceState;
  readonly createdAt: number;
  deletedAt: number | undefined;
}

/** Live process counts by kind. */
export interface LiveCounts {
  readonly execs: number;
  readonly ptys: number;
  readonly runs: number;
  /** The live session runs' resource names, in the order they started. */
  readonly runNames: readonly string[];
}

/** A workspace with what is live in it. */
export interface WorkspaceView extends WorkspaceRecord {
  readonly materialization: Materialization;
  readonly live: LiveCounts;
}

export type ExecStatus = "queued" | "running" | "exited" | "signalled" | "failed-to-start" | "lost" | "cancelled";

/** An exec as stored. */
export interface ExecRecord {
  readonly seq: number;
  readonly id: string;
  readonly workspaceSeq: number;
  readonly workspaceId: string;
  readonly argv: readonly string[];
  readonly cwd: string;
  readonly envKeys: readonly string[];
  readonly tty: boolean;
  /** The name it was started with (process-names.ts), or renamed to; undefined: none. */
  name: string | undefined;
  /** When tether starts its command again after it ends (exec-restarts.ts). */
  readonly restartPolicy: RestartPolicy | undefined;
  /** How many times its policy started the command before it. */
  readonly restarts: number;
  /** How long it may run before tether stops it (exec --timeout); 0: no limit. */
  readonly timeoutMs: number;
  /** What a client tagged it with to find it again (labels.ts). */
  readonly labels: Readonly<Record<string, string>>;
  /** The queue it runs in (exec-queues.ts); undefined: none. */
  readonly queue: string | undefined;
  /** The ids of the execs it starts after (exec --after); empty: none. */
  readonly after: readonly string[];
  /** The time it starts no sooner than (exec --delay, --at); undefined: none. */
  readonly startAt: number | undefined;
  /** Its place among those waiting in its queue: higher first (exec --priority); 0: none given. */
  readonly priority: number;
  /** When it counts as ready (exec --ready-http ...; exec-readiness.ts); undefined: no checks. */
  readonly readiness: Readiness | undefined;
  /** When its readiness checks first passed; undefined until they have. */
  readyAt: number | undefined;
  /** Why it is not ready, once its readiness timeout passed without every check passing. */
  readinessError: string | undefined;
  /** When its process started, when it waited in its queue first (else createdAt); undefined until then. */
  startedAt: number | undefined;
  /** When its restart policy starts its command again, while it waits out the delay (never stored). */
  readonly restartAt?: number | undefined;
  status: ExecStatus;
  pid: number | undefined;
  exitCode: number | undefined;
  signal: string | undefined;
  error: string | undefined;
  stdoutBytes: number;
  stderrBytes: number;
  readonly createdAt: number;
  endedAt: number | undefined;
}

/** How a PTY's size follows its attached clients. */
export type SizePolicy = "latest" | "smallest";

export interface TerminalSize {
  readonly cols: number;
  readonly rows: number;
}

/** A PTY as stored. Its status uses the exec statuses: running while open. */
export interface PtyRecord {
  readonly seq: number;
  readonly id: string;
  readonly workspaceSeq: number;
  readonly workspaceId: string;
  readonly argv: readonly string[];
  readonly cwd: string;
  /** The name it was given (process-names.ts), or renamed to; undefined: none. */
  name: string | undefined;
  /** What a client tagged it with to find it again (labels.ts). */
  readonly labels: Readonly<Record<string, string>>;
  size: TerminalSize;
  readonly sizePolicy: SizePolicy;
  status: ExecStatus;
  pid: number | undefined;
  exitCode: number | undefined;
  signal: string | undefined;
  error: string | undefined;
  readonly createdAt: number;
  endedAt: number | undefined;
  /** When a client last attached or detached, while open (never stored: a PTY does not outlive its daemon). */
  attachedAt?: number | undefined;
}
