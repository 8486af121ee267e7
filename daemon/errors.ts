import { Code } from "@connectrpc/connect";

/**
 * The machine-readable reasons, named as in tether.v1.ErrorReason without the
 * ERROR_REASON_ prefix. Domain code uses these strings; the RPC layer turns
 * them into the proto enum (services/error-mapping.ts).
 */
export type ErrorReasonName =
  | "INVALID_ARGUMENT"
  | "INVALID_NAME"
  | "JOURNAL_NOT_FOUND"
  | "JOURNAL_ALREADY_EXISTS"
  | "CURSOR_EXPIRED"
  | "CURSOR_PAST_END"
  | "RECORD_TOO_LARGE"
  | "DAEMON_SHUTTING_DOWN"
  | "STORE_FAILED"
  | "JOURNAL_FULL"
  | "TASK_FILE_INVALID"
  | "TASK_NOT_FOUND"
  | "INPUT_INVALID"
  | "SESSION_NOT_FOUND"
  | "SESSION_AMBIGUOUS"
  | "SESSION_NOT_OPEN"
  | "RUN_NOT_FOUND"
  | "XCOM_NOT_FOUND"
  | "STREAM_NOT_FOUND"
  | "STREAM_WRONG_DIRECTION"
  | "RECORD_INVALID"
  | "RUN_NOT_LIVE"
  | "ALREADY_WAITING"
  | "WAIT_TIMED_OUT"
  | "WORKSPACE_NOT_FOUND"
  | "WORKSPACE_AMBIGUOUS"
  | "WORKSPACE_ALREADY_EXISTS"
  | "WORKSPACE_BUSY"
  | "PATH_NOT_ALLOWED"
  | "SANDBOX_UNAVAILABLE"
  | "EXEC_NOT_FOUND"
  | "EXEC_NOT_LIVE"
  | "PTY_NOT_FOUND"
  | "PTY_CLOSED"
  | "READ_ONLY"
  | "REQUEST_MEMORY_FULL"
  | "RESPONSE_MEMORY_FULL"
  | "TOO_MANY_CONNECTIONS"
  | "TOO_MANY_CALLS"
  | "JOURNAL_REMOVED"
  | "STILL_RUNNING"
  | "INPUT_FULL"
  | "STDIN_CLOSED"
  | "SANDBOXED"
  | "OUT_OF_DESCRIPTORS"
  | "OUT_OF_PROCESSES"
  | "PTY_NAME_TAKEN"
  | "EXEC_NAME_TAKEN"
  | "EXEC_NOT_RESTARTABLE"
  | "TOO_MANY_QUEUES"
  | "EXEC_NOT_QUEUED"
  | "EXEC_NOT_READY"
  | "COPY_FAILED"
  | "SESSION_NOT_READY"
  | "SESSION_STARTED"
  | "NOTHING_TO_RERUN";

/**
 * An error a user can act on: a gRPC code, a message that says how to fix the
 * problem, a reason a program can switch on, and facts in metadata.
 */
export class TetherError extends Error {
  override readonly name = "TetherError";
  constructor(
    readonly code: Code,
    readonly reason: ErrorReasonName,
    message: string,
    readonly metadata: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }
}

/**
 * The daemon out of file descriptors (EMFILE): `failed` says what could not
 * be done and how it failed; `alsoMaybe`, another cause it may have had.
 */
export function outOfDescriptors(failed: string, alsoMaybe = ""): TetherError {
  return new TetherError(
    Code.ResourceExhausted,
    "OUT_OF_DESCRIPTORS",
    `${failed}: the daemon has every file descriptor it may open in use (end execs, terminals or sessions it runs, or raise its limit: ulimit -n, LimitNOFILE=, and restart it)${alsoMaybe === "" ? "" : `, or ${alsoMaybe}`}`,
  );
}

/** Whether `error` is the daemon's, or the system's, limit on open files reached (EMFILE, ENFILE). */
export function isOutOfDescriptors(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return code === "EMFILE" || code === "ENFILE";
}

export function invalidArgument(field: string, message: string): TetherError {
  return new TetherError(Code.InvalidArgument, "INVALID_ARGUMENT", message, { field });
}

/** A request message over the daemon's per-message limit, said alike over gRPC and the Connect protocol. */
export function requestTooLarge(bytes: number, max: number): string {
  return `a request message of ${bytes} bytes is over the ${max}-byte limit: send smaller messages (split a large append into several)`;
}
