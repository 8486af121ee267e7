import { Code } from "@connectrpc/connect";
import { TetherError } from "../errors.js";
import type { Durability } from "../journal/types.js";
import { STDIN_STREAM, type TaskDef } from "../tasks/types.js";
import { Continuations } from "./continuations.js";
import { InputWaits, type WaitRequest } from "./input-waits.js";
import { deriveActivity } from "./activity.js";
import { CANCELLED_EXIT_CODE, assertRunLive, assertSessionOpen } from "./lifecycle.js";
import { LiveRun, type RunEnvironment } from "./live-run.js";
import { prepareRun } from "./run-start.js";
import { runEnding } from "./run-ending.js";
import { runOutputWriter, wireRun } from "./run-wiring.js";
import { RunGraph, type FateChecks } from "./run-graph.js";
import { SourceChecks } from "./source-checks.js";
import { RunQueueSlots, queuedReason } from "./run-queue-slots.js";
import { SessionLifetime } from "./session-lifetime.js";
import { SessionRecorder } from "./session-recorder.js";
import { SessionTimers, type SessionEnded } from "./session-timers.js";
import { SessionValues } from "./session-values.js";
import { snapshot, storeLater } from "./session-snapshots.js";
import { describeEnd, exitCodeOf, type ProcessEnd } from "../process/child-process.js";
import { runChange, type RunChangeData } from "./session-journal.js";
import type { SessionOrder } from "./session-order.js";
import type { SessionStreams } from "./session-streams.js";
import type { SessionTables } from "./session-tables.js";
import type { StreamRecord } from "./stream-records.js";
import { FINAL_RUN_STATUSES, LIVE_RUN_STATUSES, type Activity, type RunRecord, type RunStatus, type SessionRecord, type SessionStatus } from "./types.js";
import { Waiters } from "./waiters.js";

/**
 * One open session while the daemon runs: executes its task graph (upstreams
 * first, independent tasks in parallel up to the session's limit, retries,
 * timeouts, readiness, conditions), keeps its runs' state log, and ends it.
 *
 * Every change is recorded as an event in the session's events journal with
 * the run's and session's rows written in the same transaction, so what a
 * watcher sees, what `show` lists and what survives `kill -9` agree.
 */
export class LiveSession {
  private readonly graph: RunGraph;
  private readonly live = new Map<number, LiveRun>();
  private readonly timers: SessionTimers;
  private readonly lifetime: SessionLifetime;
  private activityNow: Activity = "idle";
  private waitingForNow = "";
  private readonly waits: InputWaits;
  private readonly continuations: Continuations;
  /** Wakes the stdin feeders when a record arrives on `stdin`. */
  private readonly stdinArrivals = new Waiters();
  private readonly recorder: SessionRecorder;
  /** Abandoned as the daemon stops: nothing starts (a run queued, input to continue on) until a daemon resumes it. */
  private held = false;
  /** Its runs in a queue (a task's `queue:`): waiting their turn, or holding a slot. */
  private readonly slots: RunQueueSlots;
  /** Its inputs and xcom, as its templates see them. */
  readonly values: SessionValues;
  /** What a pending run's fate asks (RunGraph.pendingFate). */
  private readonly checks: FateChecks;

  constructor(
    readonly session: SessionRecord,
    runs: RunRecord[],
    /** Secret input values: in memory only, never stored. */
    secrets: Readonly<Record<string, string>>,
    private readonly order: SessionOrder,
    /** Its streams' records: what a send adds, waits, stdin and continuations see (onInput). */
    readonly streams: SessionStreams,
    private readonly tables: SessionTables,
    private readonly environment: RunEnvironment & { readonly sessionEnded: SessionEnded },
    onRetired: (session: LiveSession) => void,
  ) {
    this.graph = new RunGraph(session.spec.tasks, runs);
    this.values = new SessionValues(session, secrets, tables, environment.baseEnv);
    this.timers = new SessionTimers(session.spec, runs.some((r) => r.status !== "pending"), environment.sessionEnded);
    const sources = new SourceChecks(session.spec, environment.unusable, (run) => (this.graph.recheck(run), this.schedule()));
    this.checks = { retrying: this.timers.has, conditionHolds: this.values.conditionHolds, sources: sources.verdict };
    this.slots = new RunQueueSlots(environment.queues, session.id);
    this.lifetime = new SessionLifetime(
      (why) => {
        if (this.session.status === "open") this.end("expired", `expired: ${why}`);
      },
      () => {
        this.order.commits.wakeAll();
        onRetired(this);
      },
    );
    this.recorder = new SessionRecorder(session, order, this.lifetime, { events: environment.events, fresh: runs.length === 0 }, () => ({
      event: { status: this.session.status, activity: this.activityNow, reason: "state stored again after a change that could not be stored", run: undefined },
      alongside: storeLater(this.tables, this.session, this.graph.runs),
    }));
    this.waits = new InputWaits(session.id, streams, { transition: (...args) => this.transition(...args), schedule: () => this.schedule() });
    this.continuations = new Continuations(this.graph.task(session.task), streams);
    streams.onArrival((stream) => this.onInput(stream));
  }

  /** Its live runs, of `tasks` or (undefined) all, in run order: for a signal (session-signals.ts). */
  liveRuns = (tasks?: ReadonlySet<string>): LiveRun[] => [...this.live.values()].filter((l) => tasks === undefined || tasks.has(l.run.task)).sort((a, b) => a.run.number - b.run.number);

  /** Every run, in order; the last run of a task is its current attempt. */
  get runs(): RunRecord[] {
    return this.graph.runs;
  }

  get id(): string {
    return this.session.id;
  }

  get activity(): Activity {
    return this.activityNow;
  }

  /** The graph has an outcome (a keep_open session idling, services left ready): nothing runs that a close would stop but services. */
  get graphFinished(): boolean {
    return this.session.exitCode !== undefined;
  }

  get waitingFor(): string {
    // A retry's "in 4s" counts down, a session awaited ends: said again as of now.
    if (this.timers.counting) this.refreshActivity();
    return this.waitingForNow;
  }

  /** The position the session's next record will get (see SessionOrder). */
  get nextPosition(): number {
    return this.order.nextPosition;
  }

  /** True once the session has ended and its last change is durable. */
  get retired(): boolean {
    return this.lifetime.retired;
  }

  /** Resolves once the session has ended and its last change is durable, or the signal aborts. */
  waitRetired(signal: AbortSignal): Promise<void> {
    return this.lifetime.waitRetired(signal);
  }

  /** Resolves on the session's next commit, once it has retired (retiring wakes commit waiters too), or when the signal aborts. */
  waitChange(signal: AbortSignal): Promise<void> {
    return this.lifetime.retired ? Promise.resolve() : this.order.commits.wait(signal);
  }

  /**
   * Blocks a live run until it takes a record of an input stream: the
   * oldest untaken record matching the correlation id, including records
   * sent before the wait began. The run shows `waiting` meanwhile; the
   * wait's start and its outcome (taken, timed out, abandoned) are
   * transitions in its state log, and the take is durable before the record
   * is returned.
   */
  waitForInput(request: WaitRequest): Promise<StreamRecord> {
    this.streams.require(request.stream, "input");
    return this.waits.begin(this.requireLiveRun(request.run, "wait").run, request);
  }

  /**
   * Creates the graph's runs and starts what can start. Resolves once the
   * session's creation is durable; `alongside` stores what else it needs in
   * the same commit (its output log's retention). The runs of `carried`
   * tasks are succeeded from the start, for the reason given (rerun --failed).
   */
  start(alongside: () => void, carried?: ReadonlyMap<string, string>): Promise<unknown> {
    for (const task of this.session.spec.tasks) {
      const run = this.graph.addRun(task.name, 1);
      const why = carried?.get(task.name);
      if (why !== undefined) this.graph.setStatus(run, "succeeded", why, this.session.createdAt);
    }
    this.refreshActivity();
    const created = this.record(undefined, this.timers.startedReason, () => {
      alongside();
      this.tables.insert(this.session);
      for (const run of this.runs) this.tables.saveRun(this.session.seq, snapshot(run));
    });
    this.lifetime.armTtl(this.session.createdAt, this.session.spec.ttlMs);
    this.schedule();
    return created;
  }

  /**
   * Starts its graph now if its start waits for its time or sessions to end
   * (tether start, as docker start; SessionTimers.startNow).
   * Resolves once the runs it moved on are durable: the next daemon does not wait again.
   */
  startNow(): Promise<void> {
    assertSessionOpen(this.id, this.session.status, "start");
    const waited = this.timers.startNow(this.id);
    this.session.updatedAt = Date.now();
    this.refreshActivity();
    void this.record(undefined, `started now by a client; it waited for ${waited}`, () => this.tables.update({ ...this.session }));
    this.schedule();
    return this.order.store(() => {}, "power-loss");
  }

  /**
   * Takes up an open session found at daemon start with nothing live: a
   * graph that has not finished goes on (its retries owed are armed for what
   * is left of their delay, its runs yet to start start); a keep_open
   * session idling is continued by input it has not taken.
   */
  resume(): void {
    this.held = false;
    const { createdAt, spec } = this.session;
    this.lifetime.armTtl(createdAt, spec.ttlMs);
    // Past its ttl while no daemon ran: that timer ends it at once, and nothing starts for it meanwhile.
    if (spec.ttlMs > 0 && createdAt + spec.ttlMs <= Date.now()) return;
    if (this.session.exitCode === undefined) for (const { task, attempt, dueAt } of this.graph.retriesOwed()) this.scheduleRetry(task, attempt, Math.max(0, dueAt - Date.now()));
    this.refreshActivity();
    this.afterChange();
    this.schedule();
    this.maybeContinue();
  }

  /** Ends the session: pending runs are cancelled, live ones stopped (SIGTERM, then SIGKILL after KILL_GRACE_MS). */
  end(status: Exclude<SessionStatus, "open">, reason: string): void {
    assertSessionOpen(this.id, this.session.status, status === "closed" ? "close" : "cancel");
    const now = Date.now();
    Object.assign(this.session, { status, endedAt: now, updatedAt: now });
    if (this.session.exitCode === undefined) {
      this.session.exitCode = status === "closed" ? 0 : CANCELLED_EXIT_CODE;
      if (status !== "closed") this.session.error = reason;
    }
    this.cancelPending(reason);
    const resumeAs = new Map([...this.live.keys()].map((run) => [run, this.waits.resumeStatus(run)]));
    this.waits.failAll(new TetherError(Code.FailedPrecondition, "SESSION_NOT_OPEN", `the wait ended: session ${this.id} is ${status} (${reason})`, { session: this.id, status }));
    for (const live of this.live.values()) {
      const stoppedWhenReady = (live.run.status === "ready" || resumeAs.get(live.run.number) === "ready") && status === "closed";
      live.stop(stoppedWhenReady ? { status: "succeeded", reason: "stopped at the end of the session" } : { status: "cancelled", reason });
    }
    this.refreshActivity();
    this.record(undefined, reason, () => this.tables.update({ ...this.session }));
    this.afterChange();
  }

  /**
   * The daemon is stopping (or found live runs at its start; `reason` says
   * which): live runs are recorded lost and their process groups stopped;
   * the session closes with that error, unless its main task is keep_open:
   * that one stays open with the error, as after a failed run. A session
   * with nothing live is left as it is (a retry waiting, runs yet to start:
   * the next daemon takes it up, see resume). Resolves when the processes
   * have exited.
   */
  async abandon(reason: string): Promise<void> {
    this.held = true;
    const live = [...this.live.values()];
    const lost = this.runs.filter((r) => LIVE_RUN_STATUSES.has(r.status));
    // Decided before the runs are recorded lost, as `daemon stop` was told (outlivesDaemon).
    const staysOpen = this.outlivesDaemon;
    this.waits.failAll(new TetherError(Code.Unavailable, "DAEMON_SHUTTING_DOWN", `the wait ended: ${reason}`));
    // Nothing was cut: a retry owed, runs yet to start; the next daemon takes them up (resume).
    if (lost.length === 0) return this.timers.clear();
    this.session.exitCode = 1;
    this.session.error = `${reason} while ${lost.length} run(s) were live: recorded lost`;
    for (const run of lost) this.transition(run, "lost", `${reason} while this run was live`);
    for (const l of live) l.stop(undefined);
    if (staysOpen) {
      // A keep_open conversation outlives the daemon as a failed run does: open and idle, the next input continues it.
      this.cancelPending(reason);
      this.refreshActivity();
      this.record(undefined, `${reason}; the session stays open (keep_open)`, () => this.tables.update({ ...this.session }));
    } else if (this.session.status === "open") {
      this.end("closed", reason);
    }
    await Promise.all(live.map((l) => l.process.ended));
  }

  /** Whether abandon leaves it open for the next daemon: a keep_open conversation, or a graph with no run live now (retries owed, runs yet to start). */
  get outlivesDaemon(): boolean {
    return this.session.status === "open" && (this.graph.task(this.session.task).keepOpen || !this.runs.some((r) => LIVE_RUN_STATUSES.has(r.status)));
  }

  /** Runs not yet started are cancelled and retries waiting are not run. */
  private cancelPending(reason: string): void {
    this.timers.clear();
    for (const run of this.graph.runsYetToStart()) this.transition(run, "cancelled", reason);
  }

  /** Resolves once the session is quiet: not open, or open with nothing live or pending. */
  waitQuiet(signal: AbortSignal): Promise<void> {
    return this.lifetime.waitQuiet(this.quiet(), signal);
  }

  private quiet(): boolean {
    return this.live.size === 0 && (this.session.status !== "open" || this.activityNow === "idle");
  }

  /** Moves pending runs whose upstreams are done, and starts queued runs while slots are free. */
  private schedule(): void {
    if (this.session.status !== "open" || this.timers.beforeStart((refused) => (refused === undefined ? this.schedule() : this.end("cancelled", refused)))) return;
    // Pending runs whose upstreams changed, until none is left: a skip here can settle a downstream's fate too.
    for (let runs = this.graph.takeToCheck(); runs.length > 0; runs = this.graph.takeToCheck()) {
      for (const run of runs) {
        const fate = this.graph.pendingFate(run, this.checks);
        if (fate.t === "skip" || fate.t === "done") this.transition(run, fate.t === "skip" ? "skipped" : "succeeded", fate.reason);
        else if (fate.t === "queue") this.transition(run, "queued", queuedReason(this.graph.task(run.task).queue));
      }
    }
    const parallelism = this.session.spec.parallelism;
    // A run waiting its turn in a queue keeps its place in the session's parallelism: its launch never goes past it.
    let busy = this.slots.waitingCount;
    for (const live of this.live.values()) if (live.run.status === "running") busy++;
    for (const run of this.graph.queuedRuns()) {
      if (busy >= parallelism || this.held) break;
      if (this.slots.isWaiting(run.number)) continue;
      const { queue, priority = 0 } = this.graph.task(run.task);
      if (queue === undefined || this.slots.admit(run.number, queue, run.transitions.at(-1)!.at, priority, () => this.launchInTurn(run))) this.launch(run);
      else this.refreshActivity();
      busy++;
    }
    this.checkGraphDone();
  }

  /** A run's turn in its queue came: it launches unless the session or the run went on without it. */
  private launchInTurn(run: RunRecord): void {
    if (this.session.status !== "open" || run.status !== "queued" || this.held) return;
    this.launch(run);
    this.checkGraphDone();
  }

  private launch(run: RunRecord): void {
    const task = this.graph.task(run.task);
    if (task.queue !== undefined) this.slots.hold(run.number, task.queue);
    const { display, start, cannot } = prepareRun(this.session, task, run.number, this.values, this.environment);
    run.command = display;
    const writer = runOutputWriter(this.order, this.id, run, task);
    if (task.name === this.session.task) this.continuations.markSeen();
    if (cannot !== undefined) {
      this.transition(run, "running", "");
      void writer.write(2, Buffer.from(`tether: ${cannot.message}\n`));
      void writer.settled().then(() => this.finish(run, { t: "failed-to-start", ...cannot }, undefined));
      return;
    }
    const live = new LiveRun(run, writer, start, this.environment, task.readiness !== undefined);
    this.live.set(run.number, live);
    this.transition(run, "running", "");
    wireRun(live, task, start.argv[0]!, {
      sessionId: this.id,
      streams: this.streams,
      stdinArrivals: this.stdinArrivals,
      storeProcess: (saved) => this.order.store(() => this.tables.saveRunProcess(this.session.seq, saved), "daemon-crash"),
      onReady: () => {
        // A run blocked in a wait becomes ready when the wait ends; this one is not blocked.
        if (this.waits.readyAfterWait(run.number)) return;
        this.transition(run, "ready", "readiness checks passed");
        this.schedule();
      },
      onHealth: (reason) => this.transition(run, "ready", reason),
      onEnded: (end, lost) => this.finish(run, end, live, lost),
    });
  }

  /** `lost`: what of the run's output could not be stored, in words; the run's last transition says it too. */
  private finish(run: RunRecord, end: ProcessEnd, live: LiveRun | undefined, lost?: string): void {
    this.slots.release(run.number);
    if (live !== undefined) {
      live.ended();
      this.live.delete(run.number);
      this.waits.runEnded(run, describeEnd(end));
    }
    run.exitCode = exitCodeOf(end);
    if (FINAL_RUN_STATUSES.has(run.status)) {
      // Already recorded (lost at daemon stop): the exit only completes it.
      this.afterChange();
      return;
    }
    const task = this.graph.task(run.task);
    const ending = runEnding(end, live, task, run.attempt, this.session.status === "open", lost);
    switch (ending.t) {
      case "stopped":
        this.transition(run, ending.status, ending.reason);
        break;
      case "succeeded":
        if (task.result === "stdout") this.values.setXcom(task.name, live!.writer.stdoutText());
        this.transition(run, "succeeded", ending.reason);
        break;
      case "retry":
        this.scheduleRetry(task, ending.attempt);
        this.transition(run, "failed", ending.reason);
        break;
      case "failed":
        this.graph.failedFinally(task.name, run.exitCode);
        this.transition(run, "failed", ending.reason);
        if (this.session.spec.failFast || task.failFast === true) this.failFast(task.name);
        break;
      case "allowed":
        this.transition(run, "failed", ending.reason);
        break;
    }
    this.afterChange();
    this.schedule();
  }

  private scheduleRetry(task: TaskDef, attempt: number, delayMs = task.retryDelayMs): void {
    this.timers.arm(task.name, delayMs, () => {
      if (this.session.status !== "open") return;
      const run = this.graph.addRun(task.name, attempt);
      this.refreshActivity();
      this.record(runChange(run), `retry of ${task.name}`, storeLater(this.tables, this.session, [run]));
      this.schedule();
    });
  }

  private failFast(failed: string): void {
    const reason = `fail-fast: ${failed} failed`;
    // A task with when: (a cleanup, a rollback) is not skipped: it runs once its upstreams have ended.
    for (const run of this.graph.runsYetToStart().filter((r) => this.graph.task(r.task).when === undefined)) {
      this.graph.skippedFor(run.task, failed);
      this.transition(run, "skipped", reason);
    }
    for (const live of this.live.values()) live.stop({ status: "cancelled", reason });
    // Retries waiting are not run: their tasks' failures stand.
    const notRetried = this.timers.dropRetries();
    if (notRetried.length === 0) return;
    for (const task of notRetried) this.graph.failedFinally(task, this.graph.latest(task)?.exitCode ?? 1);
    this.refreshActivity();
    void this.record(undefined, `${reason}; not retried: ${notRetried.join(", ")}`, () => {});
  }

  /** When the main task is done and nothing but ready services is left, the graph has finished. */
  private checkGraphDone(): void {
    if (this.session.status !== "open" || this.session.exitCode !== undefined) return;
    const outcome = this.graph.outcome(this.session.task, this.timers.size);
    if (outcome === undefined) return;
    this.session.exitCode = outcome.exitCode;
    if (outcome.succeeded) this.session.result = this.tables.xcomValue(this.session.seq, this.session.task)?.value ?? "";
    else this.session.error = outcome.error;
    if (this.graph.task(this.session.task).keepOpen) {
      this.session.updatedAt = Date.now();
      this.refreshActivity();
      this.record(undefined, "graph finished; the session stays open (keep_open)", () => this.tables.update({ ...this.session }));
      // Idle from here, its services ready or not: the idle timeout counts.
      this.afterChange();
      this.maybeContinue();
      return;
    }
    this.end("closed", "graph finished");
  }

  private transition(run: RunRecord, status: RunStatus, reason: string, alongside?: () => void): Promise<unknown> {
    if (status !== "queued") this.slots.leave(run.number);
    const now = Date.now();
    this.graph.setStatus(run, status, reason, now);
    this.session.updatedAt = now;
    this.refreshActivity();
    const save = storeLater(this.tables, this.session, [run]);
    // A run's transitions follow its process and the scheduler, and no client is told they are
    // stored: they are committed like the process's output (see PROCESS_OUTPUT). One that carries
    // a take (a wait handing a record to its task) is fsynced, as are the session's own changes.
    const durability: Durability = alongside === undefined ? "daemon-crash" : "power-loss";
    return this.record(runChange(run), "", () => (save(), alongside?.()), durability);
  }

  private record(run: RunChangeData | undefined, reason: string, alongside: () => void, durability: Durability = "power-loss"): Promise<unknown> {
    return this.recorder.record({ status: this.session.status, activity: this.activityNow, reason, run }, alongside, durability);
  }

  private refreshActivity(): void {
    const awaitingReadiness = new Set([...this.live.values()].filter((l) => l.awaitingReadiness).map((l) => l.run.number));
    const facts = { open: this.session.status === "open", graphFinished: this.graphFinished, live: this.graph.liveRuns(), runsToStart: this.graph.hasRunsToStart(), awaitingReadiness };
    const { activity, waitingFor } = deriveActivity({ ...facts, retries: this.timers.waiting, startWaitingFor: this.timers.startWaitingFor, waits: this.waits.describe(), queues: this.slots.describe() }, Date.now());
    this.activityNow = activity;
    this.waitingForNow = waitingFor;
  }

  private afterChange(): void {
    const open = this.session.status === "open";
    this.lifetime.changed(this.quiet(), open && this.activityNow === "idle" ? this.session.spec.idleTimeoutMs : 0);
    if (!open && this.live.size === 0) this.lifetime.retire();
  }

  /** Its live run `runNumber`, to `action` in; RUN_NOT_LIVE (or RUN_NOT_FOUND) when it is not. */
  requireLiveRun(runNumber: number, action: string): LiveRun {
    const live = this.live.get(runNumber);
    assertRunLive(this.id, this.runs, runNumber, live, action);
    return live;
  }

  /** A record arrived on an input stream: serve waits, feed stdin, maybe continue a keep_open session. */
  private onInput(stream: string): void {
    this.waits.serve(stream);
    if (stream === STDIN_STREAM) this.stdinArrivals.wakeAll();
    this.maybeContinue();
  }

  /** A keep_open session whose graph has finished continues with a new run of the main task (see Continuations). */
  private maybeContinue(): void {
    if (this.session.status !== "open" || this.session.exitCode === undefined || this.held) return;
    const continuation = this.continuations.next(this.graph);
    if (continuation === undefined) return;
    Object.assign(this.session, { exitCode: undefined, result: undefined, error: undefined, updatedAt: Date.now() });
    this.refreshActivity();
    for (const { run, why } of continuation.runs) this.record(runChange(run), why, storeLater(this.tables, this.session, [run]));
    this.lifetime.stopIdle();
    this.schedule();
  }
}
