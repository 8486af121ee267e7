import { spawn } from "node:child_process";
import { closeSync, openSync, readFileSync, renameSync, statSync } from "node:fs";
import { constants } from "node:os";
import { fileURLToPath } from "node:url";
import { makeStateDir } from "../common/paths.js";
import { DaemonService } from "../gen/tether/v1/daemon_service_pb.js";
import { CliError } from "./cli-error.js";
import type { ClientPaths } from "./paths.js";
import { GrpcClient } from "./grpc-client.js";
import { socketAnswers } from "./socket-probe.js";

/**
 * Node flags the daemon runs with, read when node starts (V8 sizes its heap
 * then; neither can be changed from inside).
 *
 * `--max-semi-space-size=4`: V8's young generation is two semi-spaces of up
 * to 16 MiB each by default; 4 MiB took the daemon with 100 attached clients
 * (one stuck) from ~240 to ~210 MB RSS here, and ~45 MB off the first minute
 * of the million-record run, streaming and fanning out as fast.
 *
 * `--initial-old-space-size=64`: V8 counts the external memory allocated
 * since the last full collection (the buffers of SQLite's rows, of process
 * output, of HTTP/2 reads) against the old generation's limit, and the
 * daemon keeps that limit at 1.25× its live heap (heap.ts): with a small
 * heap, a stream of large buffers, freed young anyway, crossed the limit
 * every few megabytes and set off a full collection each time (~10 per
 * 256 MiB streamed). With 64 MB as the least limit: ~1, 40% less daemon CPU
 * per streamed byte, exec output ~35% faster, the same peak with 100
 * clients at a million records (260 MB, 264 without).
 *
 * `tether daemon run` starts the daemon in a node of its own with them
 * (runDaemonInForeground): the CLI itself runs without them, they slow its start.
 */
export const DAEMON_NODE_FLAGS = ["--max-semi-space-size=4", "--initial-old-space-size=64"];

/** The daemon's bundle, beside the CLI's. */
const DAEMON_ENTRY = fileURLToPath(new URL("./daemon.mjs", import.meta.url));

/** How long `daemon start` waits for a new daemon to answer. */
const START_TIMEOUT_MS = 15_000;
const POLL_INTERVAL_MS = 20;
/** Log lines shown when the daemon fails to start. */
const LOG_TAIL_LINES = 15;

/** Past this size, daemon.log is rotated as a daemon starts (rotateLog). */
const LOG_ROTATE_BYTES = 8 * 1024 * 1024;

/**
 * Moves daemon.log to daemon.log.1 (the one before it goes) once it is over
 * LOG_ROTATE_BYTES, as logrotate would, before a daemon starts logging to
 * it: each daemon appends, and a state dir in use for years would otherwise
 * keep every line. The daemon's lines are few (those a client can cause are
 * rate-limited: log.ts), so a start is often enough.
 */
function rotateLog(path: string): void {
  try {
    if (statSync(path).size > LOG_ROTATE_BYTES) renameSync(path, `${path}.1`);
  } catch {
    // No log yet, or another start rotated it first.
  }
}

/**
 * Starts the daemon in its own process session (so closing the terminal or
 * killing the CLI never reaches it), logging to daemon.log in the state dir,
 * and returns once it answers GetDaemonInfo. If it exits or never answers,
 * throws with the last lines of what it logged.
 */
export async function startDaemonInBackground(paths: ClientPaths): Promise<number> {
  try {
    makeStateDir(paths.stateDir);
  } catch (error) {
    throw new CliError((error as Error).message);
  }
  rotateLog(paths.logPath);
  const logFd = openSync(paths.logPath, "a", 0o600);
  const logStart = statSync(paths.logPath).size;
  const child = spawn(process.execPath, [...DAEMON_NODE_FLAGS, DAEMON_ENTRY], {
    detached: true,
    stdio: ["ignore", logFd, logFd],
    cwd: paths.stateDir,
  });
  closeSync(logFd);
  let exited: number | null | undefined;
  child.once("exit", (code) => (exited = code));
  child.unref();
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    // Checked before the exit: a daemon that found another holding the socket's lock
    // exits, and that one, asked by it, serves a socket file that had been removed.
    const exitedBefore = exited !== undefined;
    if (await socketAnswers(paths.socketPath)) {
      try {
        const client = new GrpcClient(paths.socketPath);
        const info = await client.unary(DaemonService.method.getDaemonInfo, {});
        client.close();
        return info.daemon?.pid ?? 0;
      } catch {
        // Listening but not serving yet: poll again.
      }
    }
    if (exitedBefore) break;
    await new Promise((r) => setTimeout(r, POLL_INTERVAL_MS));
  }
  const tail = readFileSync(paths.logPath, "utf8").slice(logStart).trimEnd().split("\n").slice(-LOG_TAIL_LINES).join("\n");
  throw new CliError(
    `the daemon did not start (${exited !== undefined ? `it exited with code ${exited}` : `no answer within ${START_TIMEOUT_MS / 1000}s`}); the end of ${paths.logPath}:\n${tail}`,
  );
}

/**
 * `tether daemon run`: the daemon in the foreground. It needs its node flags
 * (DAEMON_NODE_FLAGS), which only a new node takes, and the `tether` command
 * does not start with them (they cost every command ~20 ms of start): so the
 * daemon runs as this process's child, with its stdio, the signals this
 * process gets passed on, and its exit code as this one's (under systemd,
 * stopping the unit stops both). Always a child, even under those flags: the
 * CLI's bundle runs from V8's code cache, where Node 20 loses the callback a
 * dynamic import() of the daemon's ES module would need.
 */
export async function runDaemonInForeground(): Promise<number> {
  // Its own process group: a Ctrl-C reaches it once, passed on from here, not twice.
  const child = spawn(process.execPath, [...DAEMON_NODE_FLAGS, DAEMON_ENTRY], { stdio: "inherit", detached: true });
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => child.kill(signal));
  return new Promise<number>((resolve) => {
    child.once("exit", (code, signal) => resolve(code ?? 128 + (signal === null ? 0 : (constants.signals[signal] ?? 0))));
  });
}
