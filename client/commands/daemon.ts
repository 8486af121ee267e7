import { parseCommandLine } from "../command-line.js";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import type { Daemon } from "../../gen/tether/v1/daemon_pb.js";
import { DaemonService } from "../../gen/tether/v1/daemon_service_pb.js";
import { CliError, unknownSubcommand } from "../cli-error.js";
import { formatDuration } from "../../common/format.js";
import { procStatFields } from "../../common/proc-stat.js";
import type { ClientPaths } from "../paths.js";
import { GrpcClient } from "../grpc-client.js";
import { socketAnswers } from "../socket-probe.js";
import { patiently } from "../daemon-patience.js";
import { CLIENT_BUILD_ID, CLIENT_VERSION, otherBuild } from "../version.js";
import { daemonLogs } from "./daemon-logs.js";

/** How long `daemon stop` waits for the daemon to exit. */
const STOP_TIMEOUT_MS = 15_000;

export const DAEMON_USAGE = `usage: tether daemon run | start | stop | restart | status [--json]
       tether daemon logs [-n N] [-f]

  run      run the daemon in the foreground (for systemd); Ctrl-C stops it
  start    start the daemon in the background and wait until it answers
  stop     stop the daemon gracefully and wait until it has exited
  restart  stop it (as stop), then start a new one (as start): after an upgrade, as systemctl restart
  status   show pid, version, uptime, socket, state dir, what it serves and its memory (exit 1 if none runs)
  logs     what a daemon started in the background logged (daemon.log in the state dir), as journalctl
           shows a unit's: with -n, its last N lines; with -f, then what it logs next`;

/** `tether daemon run|start|stop|status`. */
export async function daemonCommand(args: string[], paths: ClientPaths): Promise<number> {
  const [sub, ...rest] = args;
  // Its own options; it reads a file, and needs no daemon.
  if (sub === "logs") return daemonLogs(rest, paths);
  const { values } = parseCommandLine({ args: rest, options: { json: { type: "boolean", default: false } }, strict: true });
  switch (sub) {
    case "run":
      // The daemon's process code (and node:child_process, ~2 ms of a command's start) loads only where it is needed.
      return (await import("../daemon-process.js")).runDaemonInForeground();
    case "start":
      return start(paths);
    case "stop":
      return stop(paths);
    case "restart":
      await stop(paths);
      return start(paths);
    case "status":
      return status(paths, values.json);
    default:
      throw unknownSubcommand("tether daemon", sub, ["run", "start", "stop", "restart", "status", "logs"], DAEMON_USAGE);
  }
}

async function start(paths: ClientPaths): Promise<number> {
  if (await socketAnswers(paths.socketPath)) {
    const info = await patiently(new GrpcClient(paths.socketPath).unary(DaemonService.method.getDaemonInfo, {}), paths);
    process.stdout.write(`tether daemon already running (pid ${info.daemon?.pid}) on ${paths.socketPath}\n`);
    return 0;
  }
  const pid = await (await import("../daemon-process.js")).startDaemonInBackground(paths);
  process.stdout.write(`tether daemon started (pid ${pid}) on ${paths.socketPath}; log: ${paths.logPath}\n`);
  return 0;
}

async function stop(paths: ClientPaths): Promise<number> {
  if (!(await socketAnswers(paths.socketPath))) {
    process.stdout.write(`no tether daemon is running on ${paths.socketPath}\n`);
    return 0;
  }
  const res = await new GrpcClient(paths.socketPath).unary(DaemonService.method.shutdownDaemon, {});
  const pid = res.daemon?.pid ?? 0;
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  // Until it has exited, not only stopped answering: it may still be ending calls under way, its store and its lock its own.
  while (pid > 0 ? processRuns(pid) : await socketAnswers(paths.socketPath)) {
    if (Date.now() > deadline) {
      throw new CliError(`the daemon (pid ${pid}) has not exited ${STOP_TIMEOUT_MS / 1000}s after it was asked to stop: see ${paths.logPath}, or kill it with kill ${pid}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  const ended = res.daemon === undefined ? "" : liveWork(res.daemon);
  process.stdout.write(`tether daemon stopped (pid ${res.daemon?.pid})${ended === "" ? "" : `; it ended ${ended} (recorded lost)`}\n`);
  if (res.keptSessions.length > 0) process.stdout.write(`${keptSessions(res.keptSessions.map((name) => name.replace(/^sessions\//, "")))}\n`);
  return 0;
}

/** Whether process `pid` runs: it exists and is not a zombie (an exited daemon whose parent has not reaped it yet). */
function processRuns(pid: number): boolean {
  const state = procStatFields(pid)?.[0];
  return state !== undefined && state !== "Z";
}

async function status(paths: ClientPaths, json: boolean): Promise<number> {
  if (!(await socketAnswers(paths.socketPath))) {
    process.stderr.write(`tether: no daemon is running on ${paths.socketPath}: start one with tether daemon start\n`);
    return 1;
  }
  const daemon = (await patiently(new GrpcClient(paths.socketPath).unary(DaemonService.method.getDaemonInfo, {}), paths)).daemon;
  if (daemon === undefined) throw new CliError("the daemon answered without describing itself: restart it with tether daemon restart");
  const uptimeMs = daemon.startTime === undefined ? 0 : Date.now() - timestampMs(daemon.startTime);
  if (json) {
    process.stdout.write(
      `${JSON.stringify({ running: true, pid: daemon.pid, version: daemon.version, client_version: CLIENT_VERSION, build_id: daemon.buildId || null, client_build_id: CLIENT_BUILD_ID ?? null, uptime_seconds: Math.floor(uptimeMs / 1000), socket: daemon.socketPath, state_dir: daemon.stateDir, connections: daemon.connections, calls_in_progress: daemon.callsInProgress, memory_bytes: Number(daemon.memoryBytes), request_bytes_held: Number(daemon.requestBytesHeld), response_bytes_held: Number(daemon.responseBytesHeld), open_sessions: daemon.openSessions, live_runs: daemon.liveRuns, live_execs: daemon.liveExecs, live_ptys: daemon.livePtys })}\n`,
    );
  } else {
    const live = liveWork(daemon);
    // Another build is said where the version is this client's (another version is said above it).
    const build = daemon.version === CLIENT_VERSION ? otherBuild(daemon.buildId) : undefined;
    const lines = [
      `tether daemon running`,
      `  pid:        ${daemon.pid}`,
      `  version:    ${daemon.version}${daemon.version === CLIENT_VERSION ? "" : ` (this client is ${CLIENT_VERSION}: restart the daemon with tether daemon restart)`}`,
      `  build:      ${daemon.buildId || "(run from the sources)"}${build === undefined ? "" : ` (${build})`}`,
      `  uptime:     ${formatDuration(uptimeMs)}`,
      `  socket:     ${daemon.socketPath}`,
      `  state dir:  ${daemon.stateDir}`,
      `  serving:    ${daemon.connections} connection(s), ${daemon.callsInProgress} call(s) in progress (this one included)`,
      `  memory:     ${mib(daemon.memoryBytes)} MiB resident; calls hold ${mib(daemon.requestBytesHeld)} MiB of requests, ${mib(daemon.responseBytesHeld)} MiB of unread responses (${mib(daemon.callMemoryLimitBytes)} MiB each at most)`,
      `  work:       ${daemon.openSessions} open session(s); ${live || "nothing"} live${live === "" ? "" : " (tether daemon stop ends them)"}`,
    ];
    process.stdout.write(lines.join("\n") + "\n");
  }
  return 0;
}

/** The live processes a daemon holds, in words ("" when none): what stopping it ends. */
function liveWork(daemon: Daemon): string {
  const parts = [
    [daemon.liveRuns, "session run(s)"],
    [daemon.liveExecs, "exec(s)"],
    [daemon.livePtys, "PTY(s)"],
  ] as const;
  return parts
    .filter(([count]) => count > 0)
    .map(([count, what]) => `${count} ${what}`)
    .join(", ");
}

/** The open sessions a stop left for the next daemon, the first few by id. */
function keptSessions(ids: readonly string[]): string {
  const shown = ids.slice(0, KEPT_SHOWN).join(", ") + (ids.length > KEPT_SHOWN ? ` and ${ids.length - KEPT_SHOWN} more` : "");
  return `${ids.length} open session(s) stay open, and the next daemon goes on with them (any tether command starts it): ${shown}`;
}

const KEPT_SHOWN = 8;

function mib(bytes: bigint): number {
  return Math.round(Number(bytes) / (1024 * 1024));
}
