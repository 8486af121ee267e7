/**
 * The header a command in a session's run sends its run token in, and the
 * environment variable the daemon gives it there: in a bwrap workspace the
 * token is what lets the run's own tether calls write to its session (see
 * daemon/services/sandboxed-calls.ts).
 */
export const RUN_TOKEN_HEADER = "tether-run-token";
export const RUN_TOKEN_ENV = "TETHER_RUN_TOKEN";
