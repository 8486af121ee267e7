import { availableParallelism } from "node:os";
import { dirname } from "node:path";
import { Code } from "@connectrpc/connect";
import { TetherError, invalidArgument } from "../errors.js";
import { newId } from "../ids.js";
import type { Journals } from "../journal/journals.js";
import { REMOVAL_RECORDS_PER_COMMIT } from "../journal/limits.js";
import { log } from "../log.js";
import type { Db } from "../store/database.js";
import { groupMembers, mainTaskGraph } from "../tasks/graph.js";
import { loadTaskFile } from "../tasks/task-file.js";
import { ExternalIdStarts } from "./external-id-starts.js";
import type { TaskFile } from "../tasks/types.js";
import { checkLabels } from "../workspaces/labels.js";
import type { WorkspaceRecord } from "../workspaces/types.js";
import type { Workspaces } from "../workspaces/workspaces.js";
import type { WaitRequest } from "./input-waits.js";
import type { RunEnvironment } from "./live-run.js";
import { LiveSession } from "./live-session.js";
import { resolveInputs } from "./session-inputs.js";
import { inTaskWorkspace, planStart, type StartPlan } from "./start-plan.js";
import { runPaused, signalRuns } from "./session-signals.js";
import { pagesWhere } from "./session-pages.js";
import { rerunPlan } from "./rerun-plan.js";
import { failedRerun } from "./rerun-failed.js";
import { resolveAfter, whyNotAfter } from "./session-after.js";
import type { SessionEnded } from "./session-timers.js";
import { runUnhealthy } from "./run-wiring.js";
import { signalGroup } from "../process/child-process.js";
import { stopSettled } from "../process/stop-settled.js";
import { processStartTicks } from "../process/process-identity.js";
import { logJournal, sessionJournals } from "./session-journal.js";
import { checkOutputMaxBytes } from "../process/output-limit.js";
import { SessionOrder, nextPositionAfter } from "./session-order.js";
import { SessionStreams, declaredStreams, readStreamRecord, type SendResult, type StreamSend } from "./session-streams.js";
import { SessionTables, type SessionFilter } from "./session-tables.js";
import { streamJournal, type StreamInput, type StreamRecord } from "./stream-records.js";
import { StreamTables } from "./stream-tables.js";
import { checkXcomSet, templateEnv } from "./session-values.js";
import { assertSessionOpen } from "./lifecycle.js";
import { checkSessionEnv, checkSessionStart, type SessionPlan, type StartOptions } from "./start-options.js";
import { LIVE_RUN_STATUSES, type RunRecord, type Activity, type SessionRecord, type SessionView, type SessionWorkspace, type XcomValue } from "./types.js";

const EXTERNAL_ID_MAX_LENGTH = 256;
/** A cancel's reason becomes the session's error, in every listing's outcome: a line, not a document. */
const CANCEL_REASON_MAX_LENGTH = 1024;

/**
 * The sessions: starts task graphs, finds sessions by id or prefix, ends
 * them, and takes their input and output. Open sessions with work live in
 * memory as LiveSession; everything else is read from the store (and read
 * by SessionReads).
 */
export class Sessions {
  private readonly tables: SessionTables;
  private readonly streamTables: StreamTables;
  private readonly live = new Map<string, LiveSession>();
  private readonly externalIds = new ExternalIdStarts((externalId) => {
    const stored = this.byExternalId(externalId);
    return stored === undefined ? undefined : this.view(stored);
  });
  private nextSeq: number;
  /** What a session started after others (run --after) waits on: session-after.ts. */
  private readonly sessionEnded: SessionEnded = (id, signal) => whyNotAfter(id, signal, (x) => this.find(x), (x) => this.live.get(x));

  constructor(
    db: Db,
    private readonly journals: Journals,
    private readonly environment: RunEnvironment,
    private readonly workspaces: Workspaces,
  ) {
    this.tables = new SessionTables(db);
    this.streamTables = new StreamTables(db);
    this.nextSeq = this.tables.maxSeq() + 1;
  }

  /**
   * At daemon start: runs that were live when the last daemon stopped are
   * recorded lost (and their leftover process groups stopped), and their
   * sessions closed with the reason (a keep_open one stays open). Open
   * sessions with nothing live resume: a graph owing a retry or with runs
   * yet to start goes on, a keep_open session idles (see LiveSession.resume).
   * Each is live before any resumes: one started after another (run --after)
   * waits for that one as it runs.
   */
  recover(): void {
    const reason = "the daemon was not running (it stopped or crashed)";
    const found = this.tables.open().map((record) => ({ record, runs: this.tables.runs(record.seq) }));
    for (const { record, runs } of found) this.live.set(record.id, this.liveSession(record, runs, {}));
    for (const { record, runs } of found) {
      const live = this.live.get(record.id)!;
      const lost = runs.filter((r) => LIVE_RUN_STATUSES.has(r.status));
      if (lost.length === 0) {
        live.resume();
        continue;
      }
      for (const run of lost) {
        if (run.pid !== undefined && run.startTicks !== undefined && processStartTicks(run.pid) === run.startTicks) signalGroup(run.pid, "SIGKILL");
      }
      void live.abandon(reason).then(() => {
        if (live.session.status === "open") live.resume();
      });
      log(`session ${record.id}: ${lost.length} run(s) were live when the daemon stopped; recorded them lost`);
    }
  }

  start(options: StartOptions): Promise<{ session: SessionView; existed: boolean }> {
    return this.externalIds.start(options.externalId, () => this.startNew(options));
  }

  private async startNew(options: StartOptions): Promise<SessionView> {
    const file = taskFileAt(options.taskFile);
    const graph = mainTaskGraph(file, options.task);
    const parallelism = options.parallelism > 0 ? options.parallelism : availableParallelism();
    const taskWorkspaces = Object.fromEntries(graph.flatMap((task) => (task.workspace === undefined ? [] : [[task.name, task.workspace]])));
    return this.create({ ...options, taskFile: file.path, graph, parallelism, rerunOf: undefined, taskWorkspaces });
  }

  /** Sends `signal` to the live runs of session `idOrPrefix` (of `task`, or all): session-signals.ts. */
  async signal(idOrPrefix: string, task: string, signal: NodeJS.Signals): Promise<{ session: string; runs: RunRecord[] }> {
    const record = this.find(idOrPrefix);
    // A group's runs are its members' (a matrix task's, its combinations').
    const signalled = signalRuns(record, task, this.live.get(record.id)?.liveRuns(task === "" ? undefined : groupMembers(record.spec.tasks, task)) ?? [], signal);
    // A pause is answered once it is so: show then says (paused).
    await stopSettled(signal, signalled.runs.map((run) => run.pid));
    return signalled;
  }

  /** Starts the graph of session `idOrPrefix` now if its start waits (LiveSession.startNow); resolves once that is durable. */
  async startNow(idOrPrefix: string): Promise<SessionView> {
    const { record, live } = this.resolve(idOrPrefix);
    if (live === undefined) assertSessionOpen(record.id, record.status, "start");
    await live!.startNow();
    return this.view(record);
  }

  /** What start(options) would run, starting nothing (tether run --dry-run). */
  plan(options: Pick<StartOptions, "task" | "taskFile" | "inputs" | "workspace" | "env">): StartPlan {
    const file = taskFileAt(options.taskFile);
    const env = checkSessionEnv(options.env);
    return planStart(file, mainTaskGraph(file, options.task), options.inputs, options.workspace, this.workspaces, templateEnv(this.environment.baseEnv, env));
  }

  /**
   * Starts session `idOrPrefix`'s task again as that session ran it (pueue's
   * restart, a CI runner's re-run): the graph it recorded (not the task
   * file as it is now), its inputs with `inputs` over them, its workspace
   * (the task file's directory adopted again if it was that and has been
   * removed) and the workspaces its tasks pinned, parallelism, fail-fast,
   * TTL and idle timeout. Secret inputs were never stored: each must be
   * given again.
   */
  rerun(idOrPrefix: string, inputs: Readonly<Record<string, string>>, externalId: string, failedOnly = false): Promise<{ session: SessionView; existed: boolean }> {
    return this.externalIds.start(externalId, () => this.rerunNew(idOrPrefix, inputs, externalId, failedOnly));
  }

  private async rerunNew(idOrPrefix: string, inputs: Readonly<Record<string, string>>, externalId: string, failedOnly: boolean): Promise<SessionView> {
    const original = this.find(idOrPrefix);
    const plan = rerunPlan(original, inputs, externalId, (id) => this.workspaces.resolve(id).state === "active");
    if (!failedOnly) return this.create(plan);
    // Only what did not succeed: the rest done already, with the values it passed on.
    const { carried, again } = failedRerun(this.live.get(original.id)?.session ?? original, this.runs(original.id));
    return this.create({ ...plan, carried: { tasks: carried, xcom: this.xcom(original.id).filter((x) => !again.has(x.key)) } });
  }

  /** The session started with `externalId`, when it is given and one was; refuses one too long. */
  private byExternalId(externalId: string): SessionRecord | undefined {
    if (externalId.length > EXTERNAL_ID_MAX_LENGTH) throw invalidArgument("external_id", `external_id is longer than ${EXTERNAL_ID_MAX_LENGTH} characters`);
    return externalId === "" ? undefined : this.tables.byExternalId(externalId);
  }

  /** Records a new session of `plan.graph` and starts it. */
  private async create(plan: SessionPlan): Promise<SessionView> {
    checkLabels(plan.labels, "a session");
    checkOutputMaxBytes(plan.outputMaxBytes);
    const outputMaxBytes = plan.outputMaxBytes || (plan.graph.find((t) => t.name === plan.task)?.maxOutputBytes ?? 0);
    const { inputs, secrets, secretNames } = resolveInputs(plan.graph.flatMap((t) => t.inputs), plan.inputs);
    const ws = this.workspaces.usable(plan.workspace === "" ? this.workspaces.adoptDirectory(dirname(plan.taskFile)).id : plan.workspace);
    const taskWorkspaces = Object.fromEntries(Object.entries(plan.taskWorkspaces).map(([task, ref]) => [task, pinned(inTaskWorkspace(task, ref, (r) => this.workspaces.usable(r)))]));
    const now = Date.now();
    const startAt = checkSessionStart(plan, now);
    const after = resolveAfter(plan.after ?? [], (ref) => this.find(ref));
    const env = checkSessionEnv(plan.env);
    const record: SessionRecord = {
      seq: this.nextSeq++,
      id: this.newId(),
      task: plan.task,
      status: "open",
      externalId: plan.externalId === "" ? undefined : plan.externalId,
      labels: { ...plan.labels },
      spec: {
        taskFile: plan.taskFile,
        workingDirectory: ws.root,
        tasks: plan.graph,
        inputs,
        secretInputs: secretNames,
        parallelism: plan.parallelism,
        failFast: plan.failFast,
        ttlMs: plan.ttlMs,
        idleTimeoutMs: plan.idleTimeoutMs,
        workspace: pinned(ws),
        ...(Object.keys(taskWorkspaces).length > 0 ? { taskWorkspaces } : {}),
        ...(plan.rerunOf !== undefined ? { rerunOf: plan.rerunOf } : {}),
        ...(outputMaxBytes > 0 ? { outputMaxBytes } : {}),
        ...(startAt !== undefined ? { startAt } : {}),
        ...(after.length > 0 ? { after } : {}),
        ...(env !== undefined ? { env } : {}),
        ...(plan.force === true ? { force: true } : {}),
      },
      result: undefined,
      error: undefined,
      exitCode: undefined,
      createdAt: now,
      updatedAt: now,
      endedAt: undefined,
    };
    const session = this.liveSession(record, [], secrets);
    this.live.set(record.id, session);
    // A log that keeps only its last bytes is made so before its first record (one made by its first append keeps all),
    // as are its output streams: an agent's events, written for weeks, are output as its runs' bytes are.
    await session.start(() => {
      for (const { key, value } of plan.carried?.xcom ?? []) this.tables.setXcom(record.seq, key, value, now);
      if (outputMaxBytes === 0) return;
      const retention = { maxBytes: outputMaxBytes, maxAgeMs: 0 };
      this.journals.create(logJournal(record.id), retention);
      for (const [name, direction] of declaredStreams(plan.graph)) if (direction === "output") this.journals.create(streamJournal(record.id, name), retention);
    }, plan.carried?.tasks);
    return this.view(record);
  }

  /** Appends a record to an input stream of an open session; resolves once durable. */
  async send(idOrPrefix: string, stream: string, input: StreamInput): Promise<SendResult> {
    const record = this.find(idOrPrefix);
    // A retry of an acknowledged send stays a no-op after the session ended.
    const seq = input.idempotencyKey === "" ? undefined : this.streamTables.keySeq(record.seq, stream, input.idempotencyKey);
    if (seq !== undefined && this.live.get(record.id)?.session.status !== "open") {
      return { record: readStreamRecord(this.journals, record.id, stream, seq), duplicate: true };
    }
    return this.requireLive(record.id, "send to").streams.send(stream, input);
  }

  /** Several sends to one session, in order, each settled as `send` would settle it. */
  async sendMany(idOrPrefix: string, sends: readonly StreamSend[]): Promise<PromiseSettledResult<SendResult>[]> {
    const record = this.find(idOrPrefix);
    const live = this.live.get(record.id);
    if (live === undefined || live.session.status !== "open") return Promise.allSettled(sends.map(({ stream, input }) => this.send(record.id, stream, input)));
    return live.streams.sendMany(sends);
  }

  /** Appends records to an output stream from a live run of the session; resolves once durable. */
  async writeOutput(idOrPrefix: string, run: number, stream: string, inputs: readonly StreamInput[]): Promise<{ firstSeq: number; lastSeq: number }> {
    if (inputs.length === 0) throw invalidArgument("records", "no records to write: send at least one record");
    const live = this.requireLive(idOrPrefix, "write output in");
    const { task } = live.requireLiveRun(run, "write output").run;
    // On `result`, the last record's text is the task's xcom value (SessionStreams.write).
    const result = await live.streams.write(stream, inputs, (value) => live.values.setXcom(task, value));
    return { firstSeq: result.firstSeq, lastSeq: result.lastSeq };
  }

  /** Blocks a live run until it takes a record (see LiveSession.waitForInput). */
  waitForInput(idOrPrefix: string, request: WaitRequest): Promise<StreamRecord> {
    return this.requireLive(idOrPrefix, "wait in").waitForInput(request);
  }

  /** The record a wait would take now, without taking it. */
  peek(idOrPrefix: string, stream: string, correlationId: string): StreamRecord {
    const session = this.requireLive(idOrPrefix, "peek in");
    const record = session.streams.peek(stream, correlationId);
    if (record === undefined) {
      throw new TetherError(Code.NotFound, "STREAM_NOT_FOUND", `no untaken record on ${stream}${correlationId === "" ? "" : ` with correlation ${correlationId}`} in session ${session.id}: a wait would block now`, { stream });
    }
    return record;
  }

  get(idOrPrefix: string): SessionView {
    return this.view(this.find(idOrPrefix));
  }

  /** The session's record, and its live form while it is live. */
  resolve(idOrPrefix: string): { record: SessionRecord; live: LiveSession | undefined } {
    const record = this.find(idOrPrefix);
    return { record, live: this.live.get(record.id) };
  }

  /**
   * A page of sessions, newest first, older than `beforeSeq` (0: the
   * newest). With `activity`: open ones doing that now, read page by page
   * of the open ones until `limit` are found (activity is derived, not stored).
   */
  list(filter: SessionFilter, beforeSeq: number, limit: number, activity?: Activity): SessionView[] {
    if (activity === undefined) return this.tables.page(filter, beforeSeq, limit).map((r) => this.view(r));
    if (filter.status !== undefined && filter.status !== "open") return [];
    const open = { ...filter, status: "open" as const };
    return pagesWhere((before) => this.tables.page(open, before, limit).map((r) => this.view(r)), beforeSeq, limit, (v) => v.activity === activity);
  }

  cancel(idOrPrefix: string, reason: string): SessionView {
    if (reason.length > CANCEL_REASON_MAX_LENGTH) {
      throw invalidArgument("reason", `a cancel's reason is longer than ${CANCEL_REASON_MAX_LENGTH} characters: it becomes the session's error, shown in every listing; say it in fewer words`);
    }
    return this.end(idOrPrefix, "cancelled", reason === "" ? "cancelled by a client" : `cancelled: ${reason}`);
  }

  /**
   * Ends a session normally: one whose graph has finished (a keep_open
   * session idling, or services left ready). One whose graph still runs is
   * refused, naming what it does: stopping that work is a cancel.
   */
  close(idOrPrefix: string): SessionView {
    const record = this.find(idOrPrefix);
    const live = this.live.get(record.id);
    if (live !== undefined && live.session.status === "open" && !live.graphFinished) {
      const doing = live.waitingFor === "" ? live.activity : `${live.activity}: ${live.waitingFor}`;
      throw new TetherError(
        Code.FailedPrecondition,
        "STILL_RUNNING",
        `session ${record.id} has not finished (${doing}): close ends a session whose graph has finished; wait for it (tether show ${record.id} --wait), or stop its work with tether cancel ${record.id}`,
        { session: record.id },
      );
    }
    return this.end(idOrPrefix, "closed", "closed by a client");
  }

  /**
   * Removes an ended session with its whole history (runs and their state
   * log, output, streams, xcom), as `pueue remove` does a finished task: its
   * stream keys and takes a few thousand to a commit, then its rows and
   * journals in one fsynced commit, then its output's files. An
   * open session is refused: cancel or close it first. Resolves with it as it
   * was and the bytes its journals held.
   */
  async remove(idOrPrefix: string): Promise<{ session: SessionView; outputBytes: number }> {
    const record = this.find(idOrPrefix);
    if (this.live.has(record.id) || record.status === "open") {
      throw new TetherError(Code.FailedPrecondition, "STILL_RUNNING", `session ${record.id} is open: end it with tether cancel ${record.id} (or tether close ${record.id} once its graph has finished), then remove it`, { session: record.id });
    }
    const session = this.view(record);
    // Its idempotency keys and takes first, a commit of a few thousand at a time: an ended session takes no more input.
    for (let left = true; left; ) {
      await this.journals.store(() => (left = this.streamTables.deleteSessionRows(record.seq, REMOVAL_RECORDS_PER_COMMIT) === REMOVAL_RECORDS_PER_COMMIT), "daemon-crash");
    }
    let deleted = false;
    const outputBytes = await this.journals.remove(sessionJournals(record.id, declaredStreams(record.spec.tasks).keys()), () => {
      deleted = this.tables.delete(record.seq);
      this.streamTables.deleteSessionRows(record.seq, REMOVAL_RECORDS_PER_COMMIT);
    });
    if (!deleted) throw new TetherError(Code.NotFound, "SESSION_NOT_FOUND", `session ${record.id} was removed already`, { session: record.id });
    return { session, outputBytes };
  }

  /** The session's runs in order: those numbered after `afterNumber`, at most `limit` of them. */
  runs(idOrPrefix: string, afterNumber = 0, limit = Number.MAX_SAFE_INTEGER): RunRecord[] {
    const record = this.find(idOrPrefix);
    const live = this.live.get(record.id)?.runs;
    // Live runs are numbered 1..n in order: the page is a slice.
    return live !== undefined ? live.slice(afterNumber, afterNumber + limit) : this.tables.runs(record.seq, afterNumber, limit);
  }

  xcom(idOrPrefix: string): XcomValue[] {
    return this.tables.xcom(this.find(idOrPrefix).seq);
  }

  getXcom(idOrPrefix: string, key: string): XcomValue {
    const record = this.find(idOrPrefix);
    const value = this.tables.xcomValue(record.seq, key);
    if (value === undefined) {
      const keys = this.tables.xcom(record.seq).map((x) => x.key);
      throw new TetherError(Code.NotFound, "XCOM_NOT_FOUND", `session ${record.id} has no xcom value ${JSON.stringify(key)}: the keys are ${keys.join(", ") || "(none yet)"}`, { key });
    }
    return value;
  }

  setXcom(idOrPrefix: string, key: string, value: string): XcomValue {
    checkXcomSet(key, value);
    // An ended session's xcom is its history: refused, as input is.
    const at = this.requireLive(idOrPrefix, "set xcom in").values.setXcom(key, value);
    return { key, value, updatedAt: at };
  }

  /** How many sessions are open now. */
  get openCount(): number {
    let open = 0;
    for (const live of this.live.values()) if (live.session.status === "open") open++;
    return open;
  }

  /** The open sessions a stop now would leave open, for the next daemon to go on with (LiveSession.outlivesDaemon). */
  outlivingDaemon(): string[] {
    return [...this.live.values()].filter((live) => live.outlivesDaemon).map((live) => live.session.id);
  }

  /** Stops every live run (recorded lost with the reason); resolves when their processes have exited. */
  async shutdown(reason: string): Promise<void> {
    await Promise.all([...this.live.values()].map((s) => s.abandon(reason)));
  }

  private liveSession(record: SessionRecord, runs: RunRecord[], secrets: Readonly<Record<string, string>>): LiveSession {
    const declared = declaredStreams(record.spec.tasks);
    const order = new SessionOrder(this.journals, nextPositionAfter(this.journals, sessionJournals(record.id, declared.keys())));
    const streams = new SessionStreams(record.id, record.seq, declared, this.journals, order, this.streamTables);
    const environment = { ...this.environment, sessionEnded: this.sessionEnded };
    return new LiveSession(record, runs, secrets, order, streams, this.tables, environment, (s) => this.live.delete(s.id));
  }

  /** The live session, refusing a session that is not open with its status. */
  private requireLive(idOrPrefix: string, action: string): LiveSession {
    const record = this.find(idOrPrefix);
    const live = this.live.get(record.id);
    if (live === undefined || live.session.status !== "open") {
      const status = live?.session.status ?? record.status;
      throw new TetherError(
        Code.FailedPrecondition,
        "SESSION_NOT_OPEN",
        `cannot ${action} session ${record.id}: it is ${status}; only an open session takes input and output (start a new one with tether run)`,
        { session: record.id, status },
      );
    }
    return live;
  }

  private end(idOrPrefix: string, status: "closed" | "cancelled", reason: string): SessionView {
    const record = this.find(idOrPrefix);
    const live = this.live.get(record.id);
    if (live === undefined) {
      if (record.status !== "open") {
        throw new TetherError(Code.FailedPrecondition, "SESSION_NOT_OPEN", `session ${record.id} is already ${record.status}: there is nothing to ${status === "closed" ? "close" : "cancel"}`, { session: record.id, status: record.status });
      }
      throw new Error(`session ${record.id} is open but not live`);
    }
    live.end(status, reason);
    return this.view(live.session);
  }

  private find(idOrPrefix: string): SessionRecord {
    const id = idOrPrefix.startsWith("sessions/") ? idOrPrefix.slice("sessions/".length) : idOrPrefix;
    if (id === "") throw invalidArgument("name", "name the session: sessions/{id}, or an id prefix");
    const live = this.live.get(id);
    if (live !== undefined) return live.session;
    const exact = this.tables.byId(id);
    if (exact !== undefined) return exact;
    const matches = this.tables.byPrefix(id);
    if (matches.length === 1) return this.live.get(matches[0]!.id)?.session ?? matches[0]!;
    if (matches.length === 0) {
      throw new TetherError(Code.NotFound, "SESSION_NOT_FOUND", `no session ${JSON.stringify(id)}: tether ls lists the sessions`, { session: id });
    }
    const candidates = matches.map((m) => m.id);
    throw new TetherError(
      Code.InvalidArgument,
      "SESSION_AMBIGUOUS",
      `${JSON.stringify(id)} matches several sessions (${candidates.slice(0, 5).join(", ")}${candidates.length > 5 ? ", ..." : ""}): type more of the id`,
      { session: id, candidates: candidates.join(",") },
    );
  }

  private view(record: SessionRecord): SessionView {
    const live = this.live.get(record.id);
    const current = live?.session ?? record;
    // Only a log with a limit drops any: a listing of thousands looks up no journal for the others.
    const outputFirstOffset = record.spec.outputMaxBytes === undefined ? 0 : (this.journals.find(logJournal(record.id))?.firstOffset ?? 0);
    const liveRuns = live?.liveRuns() ?? [];
    const [paused, unhealthy] = [liveRuns.some((l) => runPaused(l.run)), liveRuns.some((l) => runUnhealthy(l.run))];
    return { ...current, activity: live?.activity ?? "idle", waitingFor: live?.waitingFor ?? "", outputFirstOffset, paused, unhealthy };
  }

  private newId(): string {
    return newId("s-", (id) => this.live.has(id) || this.tables.byId(id) !== undefined);
  }
}

/** What a session keeps of a workspace it runs in: pinned at its start. */
function pinned(ws: WorkspaceRecord): SessionWorkspace {
  return { id: ws.id, root: ws.root, sandbox: ws.sandbox, noNetwork: ws.noNetwork };
}

/** The task file at `path`, read (an absolute path: the daemon's cwd is not the client's). */
function taskFileAt(path: string): TaskFile {
  if (!path.startsWith("/")) throw invalidArgument("task_file", "task_file must be an absolute path");
  return loadTaskFile(path);
}
