import { rmSync, unlinkSync } from "node:fs";
import { Code } from "@connectrpc/connect";
import { MAX_MESSAGE_BYTES } from "../common/grpc-limits.js";
import { makeStateDir } from "../common/paths.js";
import { DaemonService } from "../gen/tether/v1/daemon_service_pb.js";
import { ExecService } from "../gen/tether/v1/exec_service_pb.js";
import { JournalService } from "../gen/tether/v1/journal_service_pb.js";
import { PtyService } from "../gen/tether/v1/pty_service_pb.js";
import { EventService } from "../gen/tether/v1/event_service_pb.js";
import { SessionService } from "../gen/tether/v1/session_service_pb.js";
import { StreamService } from "../gen/tether/v1/stream_service_pb.js";
import { TaskService } from "../gen/tether/v1/task_service_pb.js";
import { WorkspaceService } from "../gen/tether/v1/workspace_service_pb.js";
import { type DaemonConfig, resolveDaemonConfig } from "./config.js";
import { TetherError } from "./errors.js";
import { Journals } from "./journal/journals.js";
import { describeJournal } from "./journal-names.js";
import { log } from "./log.js";
import { withLoginEnv } from "./process/login-env.js";
import { startServer } from "./server.js";
import { createDaemonService } from "./services/daemon-service.js";
import { createExecService } from "./services/exec-service.js";
import { createJournalService } from "./services/journal-service.js";
import { createPtyService } from "./services/pty-service.js";
import { createEventService } from "./services/event-service.js";
import { Events } from "./events.js";
import { reflectionServices } from "./services/reflection-service.js";
import { sandboxedRegistrations } from "./services/sandboxed-calls.js";
import { RunTokens } from "./sessions/run-tokens.js";
import { createSessionService } from "./services/session-service.js";
import { createStreamService } from "./services/stream-service.js";
import { createTaskService } from "./services/task-service.js";
import { createWorkspaceService } from "./services/workspace-service.js";
import { startSpawner } from "./process/spawner.js";
import { installCliShim } from "./sessions/cli-shim.js";
import { SessionReads } from "./sessions/session-reads.js";
import { Sessions } from "./sessions/sessions.js";
import { registration } from "./services/registration.js";
import { checkSocketPath, claimSocket } from "./socket.js";
import { openDatabase } from "./store/database.js";
import { damagedDatabase, isDamaged } from "./store/store-errors.js";
import { Traffic } from "./traffic.js";
import { DAEMON_VERSION } from "./version.js";
import { readBuildId } from "../common/build-id.js";
import { Execs } from "./workspaces/execs.js";
import { Queues } from "./queues.js";
import { LiveProcesses } from "./workspaces/live-processes.js";
import { Ptys } from "./workspaces/ptys.js";
import { WorkspaceNetworks } from "./workspaces/workspace-networks.js";
import { Workspaces } from "./workspaces/workspaces.js";

/** How long a graceful stop waits for in-flight calls before closing connections. */
const SHUTDOWN_GRACE_MS = 5_000;

/**
 * Startup wiring only: config -> socket lock -> store -> services -> server -> signals.
 * Resolves when the daemon has stopped.
 */
export async function runDaemon(): Promise<void> {
  const config = resolveDaemonConfig();
  // A damaged page can be met anywhere the start reads the state (a table's maximum, the open sessions it recovers).
  const serving = await startDaemon(config).catch((error: unknown) => {
    throw isDamaged(error) ? damagedDatabase(config.databasePath, error) : error;
  });
  await serving.stopped;
}

/** Starts serving; `stopped` resolves when the daemon has stopped. */
async function startDaemon(config: DaemonConfig): Promise<{ stopped: Promise<void> }> {
  const startedAt = Date.now();
  try {
    makeStateDir(config.stateDir);
  } catch (error) {
    throw new TetherError(Code.FailedPrecondition, "INVALID_ARGUMENT", (error as Error).message, { path: config.stateDir });
  }
  checkSocketPath(config.sandboxSocketPath, "TETHER_HOME", "TETHER_HOME to a shorter path (the daemon listens on its sandbox.sock too)");
  const lock = await claimSocket(config.socketPath);
  const db = openDatabase(config.databasePath);
  const journals = new Journals(db, config.outputDir, describeJournal);
  void journals.sweepDataFiles().then(
    (deleted) => deleted > 0 && log(`deleted ${deleted} output file(s) that no journal holds (left by a daemon stopped before it deleted them)`),
    (error: unknown) => log(`could not sweep ${config.outputDir} for output files no journal holds: ${(error as Error).message}`),
  );
  const { binDir, packageDir } = installCliShim(config.stateDir);
  const spawner = await startSpawner(config.stateDir);
  const networks = new WorkspaceNetworks();
  const loginEnv = withLoginEnv(process.env);
  const events = new Events();
  const environment = {
    baseEnv: { ...loginEnv, PATH: `${binDir}:${loginEnv["PATH"]}`, TETHER_SOCKET: config.socketPath },
    sandboxHost: { readOnly: [binDir, packageDir], socket: { host: config.sandboxSocketPath, inside: config.socketPath }, network: (id: string) => networks.enter(id) },
    spawner,
    events,
  };
  const workspaces = new Workspaces(db, config.stateDir, new LiveProcesses(), networks, events);
  // Before anything starts in them (a keep_open session resumed, a retry).
  await workspaces.startNetworks();
  const queues = new Queues(db);
  const execs = new Execs(db, journals, workspaces, environment, queues);
  const ptys = new Ptys(db, journals, workspaces, environment);
  const tokens = new RunTokens();
  const sessions = new Sessions(db, journals, { ...environment, live: workspaces.live, unusable: (id) => workspaces.unusable(id), workspaceEnv: (id) => workspaces.envOf(id), tokens, queues }, workspaces);
  const reads = new SessionReads(journals, sessions);
  // What waited in a queue waits again in the order it came, runs and execs alike.
  queues.restoring(() => {
    sessions.recover();
    execs.recover();
  });
  ptys.recover();
  const stopping = new AbortController();
  let stopped!: () => void;
  const done = new Promise<void>((resolve) => (stopped = resolve));

  const facts = {
    version: DAEMON_VERSION,
    buildId: readBuildId() ?? "",
    startedAt,
    socketPath: config.socketPath,
    stateDir: config.stateDir,
    maxMessageBytes: MAX_MESSAGE_BYTES,
    work: () => {
      const live = workspaces.live.totals();
      return { openSessions: sessions.openCount, liveRuns: live.runs, liveExecs: live.execs, livePtys: live.ptys };
    },
    keptOverStop: () => sessions.outlivingDaemon(),
  };
  const traffic = new Traffic();
  const registrations = [
    registration(DaemonService, createDaemonService(facts, traffic, () => void shutdown("ShutdownDaemon"))),
    registration(JournalService, createJournalService(journals, stopping.signal)),
    registration(TaskService, createTaskService()),
    registration(SessionService, createSessionService(sessions, reads, stopping.signal)),
    registration(StreamService, createStreamService(sessions, reads, stopping.signal)),
    registration(WorkspaceService, createWorkspaceService(workspaces)),
    registration(ExecService, createExecService(execs, queues)),
    registration(PtyService, createPtyService(ptys)),
    registration(EventService, createEventService(events, stopping.signal)),
  ];
  registrations.push(...reflectionServices(registrations.map((r) => r.service)));
  // A daemon that crashed left its sandbox socket: this one holds the lock, so the file is stale.
  rmSync(config.sandboxSocketPath, { force: true });
  const sandbox = { socketPath: config.sandboxSocketPath, registrations: sandboxedRegistrations(registrations, tokens) };
  const server = await startServer({ socketPath: config.socketPath, registrations, sandbox, shutdownSignal: stopping.signal, traffic });
  log(`tether ${DAEMON_VERSION} (pid ${process.pid}) serving ${config.socketPath} (bwrap sandboxes: ${config.sandboxSocketPath}), state in ${config.stateDir}`);
  lock.serve(async () => {
    if (!shuttingDown && (await server.restoreSocket())) log(`${config.socketPath} was removed: serving it again`);
  });

  let shuttingDown = false;
  async function shutdown(why: string): Promise<void> {
    if (shuttingDown) return;
    shuttingDown = true;
    lock.stopServing();
    workspaces.refuseStarts();
    // What ends now starts nothing waiting in its queue: the next daemon does.
    queues.close();
    log(`stopping (${why})`);
    stopping.abort(
      new TetherError(Code.Unavailable, "DAEMON_SHUTTING_DOWN", "the daemon is shutting down: run the command again and it will start a new one"),
    );
    await Promise.all([
      sessions.shutdown(`the daemon was stopped (${why})`),
      execs.shutdown(`the daemon was stopped (${why}) while this exec was live`),
      ptys.shutdown(`the daemon was stopped (${why}) while this PTY was open`),
    ]);
    await server.close(SHUTDOWN_GRACE_MS);
    spawner.close();
    networks.stopAll();
    await Promise.race([journals.settled(), new Promise((resolve) => setTimeout(resolve, SHUTDOWN_GRACE_MS).unref())]);
    journals.close();
    db.close();
    for (const path of [config.socketPath, config.sandboxSocketPath]) {
      try {
        unlinkSync(path);
      } catch {
        // Already gone: nothing to clean.
      }
    }
    lock.close();
    log("stopped");
    stopped();
  }
  process.once("SIGTERM", () => void shutdown("SIGTERM"));
  process.once("SIGINT", () => void shutdown("SIGINT"));
  process.once("SIGHUP", () => void shutdown("SIGHUP"));
  return { stopped: done };
}
