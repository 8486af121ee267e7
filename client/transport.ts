import { DaemonService, type GetDaemonInfoResponse } from "../gen/tether/v1/daemon_service_pb.js";
import { CliError } from "./cli-error.js";
import { GrpcClient } from "./grpc-client.js";
import type { ClientPaths } from "./paths.js";
import { socketAnswers } from "./socket-probe.js";
import { CLIENT_VERSION } from "./version.js";

export interface Connection {
  readonly client: GrpcClient;
  readonly info: GetDaemonInfoResponse;
}

/**
 * Connects to the daemon, starting it in the background when none answers,
 * and refuses a daemon of another version with the command that fixes it.
 */
export async function connectToDaemon(paths: ClientPaths): Promise<Connection> {
  // The daemon's process code (and node:child_process, ~2 ms of a command's start) loads only when none answers.
  if (!(await socketAnswers(paths.socketPath))) await (await import("./daemon-process.js")).startDaemonInBackground(paths);
  const client = new GrpcClient(paths.socketPath);
  const info = await client.unary(DaemonService.method.getDaemonInfo, {});
  const version = info.daemon?.version ?? "unknown";
  if (version !== CLIENT_VERSION) {
    throw new CliError(
      `the daemon runs tether ${version} but this client is ${CLIENT_VERSION}: restart the daemon with tether daemon stop && tether daemon start`,
    );
  }
  return { client, info };
}
