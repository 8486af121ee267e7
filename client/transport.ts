import { DaemonService, type GetDaemonInfoResponse } from "../gen/tether/v1/daemon_service_pb.js";
import { CliError } from "./cli-error.js";
import { patiently } from "./daemon-patience.js";
import { GrpcClient } from "./grpc-client.js";
import type { ClientPaths } from "./paths.js";
import { socketAnswers } from "./socket-probe.js";
import { CLIENT_VERSION, otherBuild } from "./version.js";

export interface Connection {
  readonly client: GrpcClient;
  readonly info: GetDaemonInfoResponse;
}

/**
 * Connects to the daemon, starting it in the background when none answers
 * (but not from inside a session's run: see below), refuses a daemon of
 * another version with the command that fixes it, and warns of one of
 * another build (tether rebuilt since it started).
 */
export async function connectToDaemon(paths: ClientPaths): Promise<Connection> {
  if (!(await socketAnswers(paths.socketPath))) {
    // A run's daemon is gone (killed, or stopped while the run went on): a new daemon would only record the
    // run lost and stop its process group, this command with it. Say so instead.
    const run = process.env["TETHER_RUN"];
    if (run !== undefined && run !== "") {
      throw new CliError(`the daemon that runs this task (session ${process.env["TETHER_SESSION"] ?? "?"}, run ${run}) is not answering on ${paths.socketPath}: it has stopped, and this run with it`);
    }
    // The daemon's process code (and node:child_process, ~2 ms of a command's start) loads only when none answers.
    await (await import("./daemon-process.js")).startDaemonInBackground(paths);
  }
  const client = new GrpcClient(paths.socketPath);
  const info = await patiently(client.unary(DaemonService.method.getDaemonInfo, {}), paths);
  const version = info.daemon?.version ?? "unknown";
  if (version !== CLIENT_VERSION) {
    throw new CliError(
      `the daemon runs tether ${version} but this client is ${CLIENT_VERSION}: restart the daemon with tether daemon restart`,
    );
  }
  const build = otherBuild(info.daemon?.buildId ?? "");
  if (build !== undefined) process.stderr.write(`tether: warning: the daemon (pid ${info.daemon?.pid}) runs ${build}\n`);
  return { client, info };
}
