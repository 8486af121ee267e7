import { spawn } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync, statSync } from "node:fs";
import { DaemonService } from "../gen/tether/v1/daemon_service_pb.js";
import { CliError } from "./cli-error.js";
import type { ClientPaths } from "./paths.js";
import { GrpcClient } from "./grpc-client.js";
import { socketAnswers } from "./socket-probe.js";

/** How long `daemon start` waits for a new daemon to answer. */
const START_TIMEOUT_MS = 15_000;
const POLL_INTERVAL_MS = 20;
/** Log lines shown when the daemon fails to start. */
const LOG_TAIL_LINES = 15;

/**
 * Starts the daemon in its own process session (so closing the terminal or
 * killing the CLI never reaches it), logging to daemon.log in the state dir,
 * and returns once it answers GetDaemonInfo. If it exits or never answers,
 * throws with the last lines of what it logged.
 */
export async function startDaemonInBackground(paths: ClientPaths): Promise<number> {
  mkdirSync(paths.stateDir, { recursive: true, mode: 0o700 });
  const logFd = openSync(paths.logPath, "a", 0o600);
  const logStart = statSync(paths.logPath).size;
  const child = spawn(process.execPath, [new URL("./daemon.mjs", import.meta.url).pathname], {
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
    if (exited !== undefined) break;
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
    await new Promise((r) => setTimeout(r, POLL_INTERVAL_MS));
  }
  const tail = readFileSync(paths.logPath, "utf8").slice(logStart).trimEnd().split("\n").slice(-LOG_TAIL_LINES).join("\n");
  throw new CliError(
    `the daemon did not start (${exited !== undefined ? `it exited with code ${exited}` : `no answer within ${START_TIMEOUT_MS / 1000}s`}); the end of ${paths.logPath}:\n${tail}`,
  );
}
