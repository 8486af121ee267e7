import { Code } from "@connectrpc/connect";
import { stopSettled } from "../process/stop-settled.js";
import { TetherError, invalidArgument } from "../errors.js";
import { newId } from "../ids.js";
import type { Journals } from "../journal/journals.js";
import { log } from "../log.js";
import { NON_ENDING_SIGNALS } from "../process/signals.js";
import { armTimeout } from "./exec-timeout.js";
import { checkExecReadiness, execProbe, watchExecReadiness, type ReadinessOutcome } from "./exec-readiness.js";
import { ExecWaits } from "./exec-waits.js";
import { PACED_LAG_BYTES, type LiveOutput } from "../process/follow-output.js";
import { checkOutputMaxBytes } from "../process/output-limit.js";
import { OutputPacer } from "../process/output-pacer.js";
import { OutputWriter, PROCESS_BYTES } from "../process/output-writer.js";
import { withoutFsync, type Db } from "../store/database.js";
import { ExecRestarts, restartDelay } from "./exec-restarts.js";
import { ExecTables, type RestartSpec } from "./exec-tables.js";
import { notStarted, startExecProcess, type ExecProcess } from "./exec-process.js";
import { EXEC_STDIN_WRITE_MAX_BYTES, ExecStdin } from "./exec-stdin.js";
import { outputStored, prepareLaunch, recordLeftRunningLost, stopAllLost, terminate, type ProcessEnvironment } from "./launch.js";
import type { ExecRecord, WorkspaceRecord } from "./types.js";
import { checkLabels, type LabelSelector } from "./labels.js";
import { EXEC_NAMES, checkProcessName } from "./process-names.js";
import { findProcess, type ProcessKind } from "./process-refs.js";
import { removeEnded } from "./process-removal.js";
import type { Workspaces } from "./workspaces.js";
import { ExecTerminal } from "./exec-terminal.js";
import { ExecQueues, checkAfter } from "./exec-queues.js";
import { checkStartAt } from "../start-time.js";
import { ExecReads, outputJournal } from "./exec-reads.js";
import { endExecRecord, newExecRecord, notLiveError, restartSpecOf } from "./exec-records.js";
import { reportProcess } from "./process-events.js";
import { checkQueueName, type Queues } from "../queues.js";
import { checkSize } from "./terminal-size.js";

/**
 * How an exec starts: its workspace, command and name, and the rest as it
 * is stored to start it again (RestartSpec: cwd as asked, env, stdin, tty
 * size, the output it keeps (0: all), its restart policy).
 */
export interface ExecStartOptions extends RestartSpec {
  readonly workspace: string;
  readonly argv: readonly string[];
  /** A name to know it by (process-names.ts); empty: none. */
  readonly name: string;
  /** What a client tags it with to find it again (labels.ts). */
  readonly labels: Readonly<Record<string, string>>;
}

/** An exec waiting in its queue: its record, and its start (undefined when it was stopped first or could not start). */
export interface QueuedExec {
  readonly record: ExecRecord;
  readonly started: Promise<LiveExec | undefined>;
}

/** A running exec: its record (updated in place) and its process. */
export interface LiveExec {
  readonly record: ExecRecord;
  readonly process: ExecProcess;
  /** The pid once the process runs (then also on the record), undefined when it could not start. */
  readonly started: Promise<number | undefined>;
  /** Resolves with the final record once the end and every output byte are durable. */
  readonly ended: Promise<ExecRecord>;
  /** Paces the process to its own client while that client reads (see OutputPacer). */
  readonly pacer: OutputPacer;
  readonly stdin: ExecStdin;
  /** Its terminal, with exec -t: who answers the program's queries to it (exec-terminal.ts). */
  readonly terminal: ExecTerminal | undefined;
  /** Says why tether is stopping it, for its record's error ("stopped: …"). */
  readonly stopping: (reason: string) => void;
  /** Its readiness checks, while they run (exec-readiness.ts); undefined: it has none. */
  readonly readiness: Promise<void> | undefined;
  /** Signals it for a client (exec kill, Ctrl-C): an end that follows was asked for, and its restart policy lets it be. */
  readonly signalFromClient: (signal: NodeJS.Signals) => void;
}

/**
 * Execs: commands run directly in a workspace, never tied to the client
 * that started them. Each exec's output goes to its own journal
 * (`{id}.out`), so a reader can start from any byte offset, even long after
 * the process ended; the end is recorded once every byte is durable.
 */
export class Execs {
  private readonly tables: ExecTables;
  private readonly live = new Map<string, LiveExec & LiveOutput>();
  /** The execs being restarted, each with the exec its restart starts: a second restart of one is refused, not a second copy started. */
  private readonly restarting = new Map<string, Promise<ExecRecord | undefined>>();
  private readonly restarts: ExecRestarts;
  /** The execs waiting in a queue (exec --queue). */
  private readonly queued: ExecQueues;
  /** Their output, read from the store and live (exec attach). */
  readonly output: ExecReads;
  /** Waits for their ends and readiness (exec wait). */
  readonly waits: ExecWaits;
  private nextSeq: number;

  constructor(
    private readonly db: Db,
    private readonly journals: Journals,
    private readonly workspaces: Workspaces,
    private readonly environment: ProcessEnvironment,
    /** The queues (exec --queue), shared with session runs. */
    private readonly queues: Queues,
  ) {
    this.tables = new ExecTables(db);
    this.restarts = new ExecRestarts({ live: workspaces.live, tables: this.tables, start: (options) => this.start(options), remove: (id) => this.remove(id) });
    this.queued = new ExecQueues(
      queues,
      this.tables,
      (options, queued) => this.start(options, queued),
      (id, signal) => this.waits.end(id, { signal, timeoutMs: 0 }),
      (exec) => this.report("end", exec),
    );
    this.output = new ExecReads({
      journals,
      tables: this.tables,
      find: (ref) => this.find(ref),
      current: (exec) => this.current(exec),
      live: (id) => this.live.get(id),
      queuedStart: (id) => this.queued.startOf(id),
    });
    this.waits = new ExecWaits({
      find: (ref) => this.find(ref),
      current: (exec) => this.current(this.tables.byId(exec.id) ?? exec),
      queuedStart: (id) => this.queued.startOf(id),
      live: (id) => this.live.get(id),
      successor: (exec) => this.successor(exec),
    });
    this.nextSeq = this.tables.maxSeq() + 1;
    workspaces.whenRemoved((ws) => this.removeInWorkspace(ws.seq));
  }

  /**
   * At daemon start: execs the last daemon left running are recorded lost,
   * and their leftover process groups stopped, with what they wrote as their
   * byte counts (a running exec's are counted in memory: the store has them
   * only in its output records, each tagged with its fd's offset after it);
   * those whose restart policy is always, and the restarts owed, start
   * again (ExecRestarts.resume); those that waited in a queue wait again,
   * in their order, and those that fit start.
   */
  recover(): void {
    const fdEnd = (id: string, fd: number): number => Number(this.journals.lastMetaWith(outputJournal(id), "s", String(fd))?.["e"] ?? 0);
    const left = this.tables.running();
    const recordLost = (row: ExecRecord): void => {
      const lost = { ...row, stdoutBytes: fdEnd(row.id, 1), stderrBytes: fdEnd(row.id, 2) };
      this.tables.update(lost);
      this.report("end", lost);
    };
    recordLeftRunningLost(left, recordLost, "exec");
    this.restarts.resume(left);
    this.queued.restore();
  }

  /**
   * Starts an exec, or stores it queued when it is to start later
   * (ExecStartOptions.startAt), after others (after) or its queue (queue)
   * has no free slot: it starts once those allow (see ExecQueues), checked
   * now as a start would check it.
   */
  submit(asked: ExecStartOptions): LiveExec | QueuedExec {
    const queue = asked.queue ?? "";
    if ((asked.priority ?? 0) !== 0 && queue === "") throw invalidArgument("priority", "a priority orders an exec among those waiting in its queue: give it a queue too (tether exec --queue Q --priority N)");
    const after = [...new Set(checkAfter(asked.after ?? []).map((ref) => this.find(ref).id))];
    // A time already past is no wait.
    const options = { ...asked, startAt: checkStartAt(asked.startAt, "an exec") };
    if (queue === "" && after.length === 0 && options.startAt === undefined) return this.start(options);
    if (queue !== "") checkQueueName(queue);
    if (options.restartPolicy !== undefined) {
      throw invalidArgument("restart_policy", "an exec that waits (--queue, --after, --delay) runs once, as a pueue job: give it those or a restart policy, not both (a service that restarts needs no queue)");
    }
    if (after.length === 0 && options.startAt === undefined && this.queues.hasRoom(queue)) return this.start(options);
    const { ws, id } = this.checkStart(options);
    const launch = prepareLaunch(ws, this.environment, options.argv, options.cwd, options.env, { TETHER_EXEC: id });
    // One that cannot run (not found, not executable) says so now, not when its turn comes.
    if (launch.problem !== undefined) return this.start(options);
    const waits = { ...options, after };
    const queued = this.queued.add(newExecRecord(this.nextSeq++, waits, ws, id, launch.cwd, "queued"), waits);
    this.report("queue", queued.record);
    return queued;
  }

  /** Starts an exec at once; `queued`: the queued one whose turn came (submit). */
  start(options: ExecStartOptions, queued?: ExecRecord): LiveExec {
    const { outputMaxBytes } = options;
    const { ws, id } = queued === undefined ? this.checkStart(options) : { ws: this.workspaces.usable(queued.workspaceId), id: queued.id };
    const launch = prepareLaunch(ws, this.environment, options.argv, options.cwd, options.env, { TETHER_EXEC: id });
    const pacer = new OutputPacer(PACED_LAG_BYTES, 1);
    const writer = new OutputWriter((inputs) => this.journals.append(outputJournal(id), inputs, PROCESS_BYTES), { pacer });
    const record = queued === undefined ? newExecRecord(this.nextSeq++, options, ws, id, launch.cwd, "running") : { ...queued, cwd: launch.cwd, status: "running" as const, startedAt: Date.now() };
    const terminal = options.tty === undefined ? undefined : new ExecTerminal(options.tty, { journals: this.journals, journal: outputJournal(id), writer }, (answer) => process.answer(answer));
    // A terminal's output is scanned for its program's queries too, after it is written: an answer waits for the output before it to be stored.
    const onOutput =
      terminal === undefined
        ? (fd: 1 | 2, chunk: Buffer): Promise<unknown> | undefined => writer.write(fd, chunk)
        : (fd: 1 | 2, chunk: Buffer): Promise<unknown> | undefined => {
            const offset = writer.nextOffset();
            const written = writer.write(fd, chunk);
            terminal.scan(chunk, offset);
            return written;
          };
    const process: ExecProcess =
      launch.problem !== undefined
        ? notStarted(launch.problem)
        : startExecProcess({ ...launch, stdin: options.stdin, tty: options.tty, onOutput, outputOffset: () => writer.nextOffset(), spawner: this.environment.spawner });
    // Stored while the process starts (the request is out), in one commit: its output journal and its row. Not
    // fsynced, as its pid is not (a kill -9 of the daemon keeps it; a power cut stops the process anyway, and the
    // next fsynced commit, its end's at the latest, makes it durable): an fsync here held the daemon's thread ~1 ms.
    withoutFsync(this.db, () =>
      this.db.transaction(() => {
        this.journals.create(outputJournal(id), { maxBytes: outputMaxBytes, maxAgeMs: 0 });
        if (queued === undefined) this.tables.insert(record, restartSpecOf(options, options.line ?? id));
        else this.tables.markStarted(record);
      })(),
    );
    // The pid is stored before the client hears of it and before any output (not fsynced: a power cut stops the process anyway).
    const started = process.started.then(async (startedAs) => {
      if (startedAs !== undefined && record.status === "running") {
        const { pid, startTicks } = startedAs;
        record.pid = pid;
        await this.journals.store(() => this.tables.saveProcess(record.seq, pid, startTicks), "daemon-crash").catch((error: unknown) => log(`exec ${id}: its pid was not stored: ${(error as Error).message}`));
        this.report("start", record, { pid: String(pid) });
      }
      return startedAs?.pid;
    });
    writer.holdUntil(started);
    // What the process left in its pipes is read at once, whether or not its client reads.
    void process.exited.then(() => pacer.close());
    let stoppedBecause: string | undefined;
    let signalledByClient = false;
    const timedOut = armTimeout(process, record.timeoutMs);
    const readiness = record.readiness === undefined ? undefined : watchExecReadiness(record, execProbe(ws, launch, this.environment), process.ended, (outcome) => this.readinessSettled(record, outcome));
    const ended = process.ended.then(async (end) => {
      await outputStored(writer, this.journals, id);
      try {
        this.tables.update(endExecRecord(record, writer, end, stoppedBecause, timedOut()));
      } catch (error) {
        log(`exec ${id}: could not record its end: ${(error as Error).message}`);
      }
      this.live.delete(id);
      this.report("end", record);
      // Waiting before this exec leaves its workspace's live processes: the workspace never looks stopped in between.
      const delayMs = restartDelay({ exec: record, policy: options.restartPolicy, restarts: record.restarts, delayMs: options.delayMs ?? 0, stoppedOnPurpose: stoppedBecause !== undefined || signalledByClient });
      if (delayMs !== undefined) this.restarts.owe(record, { ...options, workspace: ws.id, restarts: record.restarts + 1, delayMs, line: options.line ?? id });
      return record;
    });
    const stopping = (reason: string): void => {
      stoppedBecause = reason;
    };
    const signalFromClient = (signal: NodeJS.Signals): void => {
      if (!NON_ENDING_SIGNALS.has(signal)) signalledByClient = true;
      process.signal(signal);
    };
    const live = { record, process, writer, pacer, started, ended, stdin: new ExecStdin(id, process, options.stdin), terminal, stopping, signalFromClient, readiness };
    this.live.set(id, live);
    this.workspaces.live.add(ws.id, { kind: "exec", signal: (s) => process.signal(s), ended, stopping });
    if (record.queue !== undefined) this.queues.running(record.queue, id, ended);
    return live;
  }

  /** Stores and reports what exec `record`'s readiness checks found (exec-readiness.ts). */
  private readinessSettled(record: ExecRecord, outcome: ReadinessOutcome): void {
    this.journals.store(() => this.tables.saveReadiness(record), "daemon-crash").catch((error: unknown) => log(`exec ${record.id}: its readiness was not stored: ${(error as Error).message}`));
    this.report(outcome, record, outcome === "ready" || outcome === "healthy" ? {} : { error: record.readinessError! });
  }

  /** What start and submit check first: its output limit, name, labels, readiness, workspace and terminal size; and the id it gets. */
  private checkStart(options: ExecStartOptions): { ws: WorkspaceRecord; id: string } {
    checkOutputMaxBytes(options.outputMaxBytes);
    checkExecReadiness(options.readiness);
    if (options.name !== "") checkProcessName(EXEC_NAMES, options.name, (name) => this.runningNamed(name));
    checkLabels(options.labels, "an exec");
    const ws = this.workspaces.usable(options.workspace);
    if (options.tty !== undefined) checkSize(options.tty.cols, options.tty.rows);
    return { ws, id: newId("e-", (candidate) => this.live.has(candidate) || this.tables.byId(candidate) !== undefined) };
  }

  /**
   * Starts an exec's command again as it was started (docker restart): a new
   * exec with its workspace, argv, cwd, env, stdin, terminal size, output
   * limit, name, labels and restart policy (its count of restarts anew, its
   * line the same, its oldest ended ones pruned), once a
   * running one has ended (SIGTERM, SIGKILL after the grace). Resolves with
   * the old one as it ended and the new one.
   */
  async restart(ref: string, graceMs: number): Promise<{ previous: ExecRecord; next: LiveExec }> {
    const exec = this.find(ref);
    const spec = this.tables.restartSpec(exec.seq);
    if (exec.status === "queued") {
      throw new TetherError(Code.FailedPrecondition, "EXEC_NOT_RESTARTABLE", `exec ${exec.id} has not run yet: it waits ${this.queued.waitsFor(exec)} and starts in its turn (tether exec start ${exec.id} starts it now)`, { exec: exec.id });
    }
    if (spec === undefined) {
      throw new TetherError(Code.FailedPrecondition, "EXEC_NOT_RESTARTABLE", `exec ${exec.id} was started by an older tether, which did not keep its environment: start it anew with tether exec`, { exec: exec.id });
    }
    if (this.restarting.has(exec.id)) {
      throw new TetherError(Code.FailedPrecondition, "EXEC_NOT_RESTARTABLE", `exec ${exec.id} is being restarted already: tether exec ls shows the new one once it runs`, { exec: exec.id });
    }
    const restarted = (async () => {
      const live = this.live.get(exec.id);
      if (live !== undefined) {
        live.stopping("restarted (tether exec restart)");
        await terminate(live.process, live.ended, "SIGTERM", graceMs);
      }
      // One waiting out its policy's delay starts now instead.
      this.restarts.cancel(exec.id);
      const previous = this.current(this.tables.byId(exec.id) ?? exec);
      // The same line (docker restarts the same container), its policy's count anew.
      const line = spec.line ?? exec.id;
      // At once, as docker restart: not after its time (exec --delay) again.
      const next = this.start({ ...spec, workspace: exec.workspaceId, argv: exec.argv, name: exec.name ?? "", labels: exec.labels, restarts: 0, delayMs: 0, line, startAt: undefined });
      this.restarts.prune(line);
      return { previous, next };
    })();
    this.restarting.set(
      exec.id,
      restarted.then(({ next }) => next.record, () => undefined),
    );
    try {
      return await restarted;
    } finally {
      this.restarting.delete(exec.id);
    }
  }

  /**
   * The exec that goes on with ended exec `exec`'s command (its restart
   * line): one started after it already, or the one an exec restart being
   * made, or a restart its policy owes, starts; undefined when none does.
   */
  private async successor(exec: ExecRecord): Promise<ExecRecord | undefined> {
    const line = this.tables.restartSpec(exec.seq)?.line ?? exec.id;
    return this.tables.nextOfLine(line, exec.seq) ?? (await (this.restarting.get(exec.id) ?? this.restarts.next(exec.id)));
  }

  get(ref: string): ExecRecord {
    return this.current(this.find(ref));
  }

  /** A workspace's execs (every workspace's when ref is empty), newest first, before `beforeSeq`; running (or queued) ones only, with every label selected, of one queue ("": any). */
  list(workspaceRef: string, beforeSeq: number, limit: number, filter: { runningOnly: boolean; labels: readonly LabelSelector[]; queue: string }): ExecRecord[] {
    const workspaceSeq = workspaceRef === "" ? undefined : this.workspaces.resolve(workspaceRef).seq;
    if (filter.queue !== "") checkQueueName(filter.queue);
    const queue = filter.queue === "" ? undefined : filter.queue;
    return this.tables.page({ liveOnly: filter.runningOnly, labels: filter.labels, workspaceSeq, queue }, beforeSeq, limit).map((e) => this.current(e));
  }

  /**
   * Sends a signal to a running exec's process group for a client: an end
   * it brings is not restarted. One that ended and waits out its restart
   * policy's delay is not started again (docker stop of a restarting one).
   */
  async signal(ref: string, signal: NodeJS.Signals): Promise<ExecRecord> {
    const exec = this.find(ref);
    if (!NON_ENDING_SIGNALS.has(signal)) {
      const cancelled = this.queued.cancel(exec, "tether exec kill");
      if (cancelled !== undefined) return cancelled;
      if (!this.live.has(exec.id) && this.restarts.cancel(exec.id)) return this.current(exec);
    }
    const live = this.requireLive(ref);
    live.signalFromClient(signal);
    // A pause is answered once it is so: exec ls then says (paused).
    await stopSettled(signal, [live.record.pid]);
    return this.current(live.record);
  }

  /**
   * Stops exec `ref` for a client, as docker stop: SIGTERM to its process
   * group, SIGKILL after `graceMs`; resolves with it once it has ended. As
   * after `signal`, its end is not restarted, and one waiting out its
   * restart delay is not started again; one that has ended is as it is.
   */
  async stop(ref: string, graceMs: number): Promise<ExecRecord> {
    const exec = this.find(ref);
    const cancelled = this.queued.cancel(exec, "tether exec stop");
    if (cancelled !== undefined) return cancelled;
    const live = this.live.get(exec.id);
    if (live === undefined) this.restarts.cancel(exec.id);
    else await terminate({ signal: (s) => live.signalFromClient(s) }, live.ended, "SIGTERM", graceMs);
    return this.current(this.tables.byId(exec.id) ?? exec);
  }

  /**
   * Names an exec anew, as docker rename: running, queued or ended (a name
   * is unique among running and queued ones, as exec --name's); "" takes
   * its name away. Its restarts (its policy's, exec restart) take the new
   * name.
   */
  rename(ref: string, name: string): ExecRecord {
    const exec = this.find(ref);
    if (name !== "") {
      checkProcessName(EXEC_NAMES, name, (taken) => {
        const holder = this.runningNamed(taken);
        return holder?.id === exec.id ? undefined : holder;
      });
    }
    const record = this.live.get(exec.id)?.record ?? exec;
    record.name = name === "" ? undefined : name;
    this.tables.saveName(record);
    return this.current(record);
  }

  /** Starts queued exec `ref` now, whatever it waits for (see ExecQueues.startNow); resolves once its process runs (its pid known) or could not start. */
  async startNow(ref: string): Promise<ExecRecord> {
    const exec = this.find(ref);
    const live = this.queued.startNow(exec);
    // One that could not start (its command gone since) is answered as it ended.
    if (live !== undefined && (await live.started) === undefined) await live.ended;
    return this.current(live?.record ?? this.tables.byId(exec.id) ?? exec);
  }

  /** Writes to a running exec's stdin for a script (WriteExecStdin), then perhaps closes it; see ExecStdin. */
  async writeStdin(ref: string, data: Uint8Array, close: boolean, signal: AbortSignal): Promise<ExecRecord> {
    if (data.byteLength === 0 && !close) throw invalidArgument("data", "give bytes to write (data or text), or close the exec's stdin");
    if (data.byteLength > EXEC_STDIN_WRITE_MAX_BYTES) throw invalidArgument("data", `one write to an exec's stdin holds at most ${EXEC_STDIN_WRITE_MAX_BYTES} bytes: send more in several`);
    const live = this.requireLive(ref);
    await live.stdin.writeFromScript(data, close, signal);
    return this.current(live.record);
  }

  /** The running exec, for a client that talks to it. */
  requireLive(ref: string): LiveExec {
    const exec = this.find(ref);
    const live = this.live.get(exec.id);
    if (live === undefined) throw notLiveError(exec, exec.status === "queued" ? this.queued.waitsFor(exec) : undefined);
    return live;
  }

  /** Removes an ended exec with all of its output (see removeEnded); resolves with it as it was and the bytes of output removed. */
  async remove(ref: string): Promise<{ exec: ExecRecord; outputBytes: number }> {
    const found = this.find(ref);
    const exec = this.queued.cancel(found, "tether exec rm") ?? this.current(found);
    this.restarts.cancel(exec.id);
    const outputBytes = await removeEnded(EXEC_KIND, this.journals, {
      id: exec.id,
      stopFirst: this.live.has(exec.id) ? `stop it with tether exec kill ${exec.id}` : undefined,
      journal: outputJournal(exec.id),
      deleteRow: () => this.tables.delete(exec.seq),
    });
    this.report("remove", exec);
    return { exec, outputBytes };
  }

  /** Removes the execs of a workspace being removed (stopped already), at once: their commits are shared. */
  private async removeInWorkspace(workspaceSeq: number): Promise<void> {
    await Promise.all(this.tables.idsInWorkspace(workspaceSeq).map((id) => this.remove(id)));
  }

  /** At daemon stop: running execs are recorded lost and their process groups killed. */
  async shutdown(reason: string): Promise<void> {
    this.queued.close();
    // Started again by the next daemon: a restart owed, and an exec whose policy is always.
    this.restarts.stop([...this.live.values()].map((live) => live.record));
    await stopAllLost([...this.live.values()], reason);
  }

  /** Reports a change of exec `exec` (see reportProcess). */
  private report(action: string, exec: ExecRecord, more: Record<string, string> = {}): void {
    reportProcess(this.environment.events, "exec", action, exec, more);
  }

  /** The record with live byte counts while running, and when it restarts while its policy waits to. */
  private current(exec: ExecRecord): ExecRecord {
    const live = this.live.get(exec.id);
    if (live === undefined) {
      const restartAt = this.restarts.at(exec.id);
      return restartAt === undefined ? exec : { ...exec, restartAt };
    }
    return { ...live.record, stdoutBytes: live.writer.bytes(1), stderrBytes: live.writer.bytes(2) };
  }

  private find(ref: string): ExecRecord {
    return findProcess(ref, EXEC_KIND, {
      live: (id) => this.live.get(id)?.record,
      stored: (id) => this.tables.byId(id),
      storedByPrefix: (prefix) => this.tables.byPrefix(prefix),
      byName: (name) => this.tables.byName(name),
    });
  }

  /** The running or queued exec named `name`, if any. */
  private runningNamed(name: string): ExecRecord | undefined {
    for (const live of this.live.values()) if (live.record.name === name) return live.record;
    const stored = this.tables.byName(name);
    return stored?.status === "queued" ? stored : undefined;
  }
}

const EXEC_KIND: ProcessKind = { field: "exec", noun: "exec", plural: "execs", collection: "execs", notFoundReason: "EXEC_NOT_FOUND" };
