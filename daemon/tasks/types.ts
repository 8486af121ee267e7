/** The input types a task can declare; `secret` is a string never stored or shown. */
export type InputType = "string" | "int" | "float" | "bool" | "choice" | "secret";
export const INPUT_TYPES: readonly InputType[] = ["string", "int", "float", "bool", "choice", "secret"];

export interface InputDef {
  readonly name: string;
  readonly type: InputType;
  readonly description: string;
  /** Absent means the input is required. */
  readonly default: string | undefined;
  /** For `choice`: the allowed values. */
  readonly choices: readonly string[];
}

/** How a task's command runs: a shell script (`sh -c`) or an argv without a shell. */
export type Command = { readonly kind: "shell"; readonly script: string } | { readonly kind: "argv"; readonly argv: readonly string[] };

/** Checks that turn a running task into a ready service. Every given probe must pass. */
export interface Readiness {
  readonly http: string | undefined;
  readonly tcp: string | undefined;
  readonly cmd: string | undefined;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  /** Once ready, the checks go on this often, as docker's healthcheck (an exec's --health-interval); absent or 0: not. */
  readonly healthIntervalMs?: number;
}

/** Who writes a session stream: clients send `input`, tasks write `output`. */
export type StreamDirection = "input" | "output";

/** Stream names: safe in journal names and URLs. */
export const STREAM_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,255}$/;

/** The input stream every session has; a task with `stdin: stream` is fed its records. */
export const STDIN_STREAM = "stdin";

/** The output stream every session has; the last record a run writes to it is its task's result (xcom). */
export const RESULT_STREAM = "result";

/** One task as the task file defines it, validated. */
export interface TaskDef {
  readonly name: string;
  readonly description: string;
  /** Undefined: a group of its upstreams (upstream only, as Taskfile's task of deps and make's phony target), run by none: succeeded once they are done. */
  readonly cmd: Command | undefined;
  readonly upstream: readonly string[];
  readonly inputs: readonly InputDef[];
  readonly env: Readonly<Record<string, string>>;
  /** Extra attempts after a failed one. */
  readonly retries: number;
  readonly retryDelayMs: number;
  /** 0: no timeout. */
  readonly timeoutMs: number;
  readonly readiness: Readiness | undefined;
  /** A template; the task is skipped when it renders falsy ("", "false", "0", "no", "off"). */
  readonly condition: string | undefined;
  readonly keepOpen: boolean;
  /** `stdout`: the task's trimmed stdout becomes its xcom result. */
  readonly result: "stdout" | undefined;
  /** Working directory relative to the root of the workspace it runs in (the task file's directory by default); it must resolve inside it. */
  readonly cwd: string | undefined;
  /** The named streams the task declares. */
  readonly streams: Readonly<Record<string, StreamDirection>>;
  /** `stream`: the run's stdin is fed the records of the session's `stdin` stream; `none`: stdin is closed. */
  readonly stdin: "none" | "stream";
  /** Its final failure cancels its running siblings (the session's fail-fast, for this task); absent in graphs recorded before it existed. */
  readonly failFast?: boolean;
  /** When it runs after its upstreams (GitLab CI's when:): once each has ended, whatever their outcome (`always`: a cleanup), or only when one ended badly (`on_failure`: a rollback); absent: once each is done well (on_success). */
  readonly when?: "always" | "on_failure";
  /** Its final failure is allowed (GitLab's allow_failure, GitHub's continue-on-error): its run is failed, the graph goes on as if it succeeded; absent: not. */
  readonly allowFailure?: boolean;
  /** The workspace (name or id) its runs execute in, whatever the session's is; absent: the session's. */
  readonly workspace?: string;
  /** Absolute paths of files of variables read as each run starts (env-files.ts); absent: none. */
  readonly envFiles?: readonly string[];
  /** How much output a session of this task (as its main task) keeps, in bytes; absent: all of it. */
  readonly maxOutputBytes?: number;
  /** The queue its runs take a slot in (as exec --queue's), across sessions; absent: none. */
  readonly queue?: string;
  /** Its runs' place among those waiting in its queue (exec --priority's); absent: 0. */
  readonly priority?: number;
  /** Globs (from its run's cwd) of the files it makes `generates` from, as make's prerequisites and Taskfile's sources: a run is up to date, and runs nothing, when what they match is no newer than what `generates` matches (source-checks.ts); absent: it always runs. */
  readonly sources?: readonly string[];
  /** Globs (from its run's cwd) of the files it makes, each to match one at least; given with `sources`. */
  readonly generates?: readonly string[];
}

/** A loaded task file: where it is and what it defines. */
export interface TaskFile {
  readonly path: string;
  readonly dir: string;
  readonly tasks: ReadonlyMap<string, TaskDef>;
  /** Where each task is defined: the line of its name. */
  readonly lines: ReadonlyMap<string, number>;
}
