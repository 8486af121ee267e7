import { Code } from "@connectrpc/connect";
import { TetherError, invalidArgument } from "../errors.js";
import type { Db } from "../store/database.js";
import type { ExecTables } from "./exec-tables.js";
import type { ExecStartOptions, LiveExec, QueuedExec } from "./execs.js";
import type { ExecRecord } from "./types.js";

/** How many of a queue's execs run at once until a client sets it: one, as pueue's default group. */
export const DEFAULT_QUEUE_PARALLEL = 1;
export const QUEUE_PARALLEL_MAX = 1000;
/** How many queues' settings the daemon keeps: a client naming a new queue at every call fills no table. */
export const QUEUE_SETTINGS_MAX = 1000;

/** A queue's name: as an exec's (process-names.ts). */
const QUEUE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** One queue as a listing shows it. */
export interface QueueView {
  readonly name: string;
  readonly parallel: number;
  readonly running: number;
  readonly queued: number;
  readonly paused: boolean;
}

/** What a client set of a queue: stored. */
interface QueueSettings {
  readonly parallel: number;
  readonly paused: boolean;
}

const DEFAULT_SETTINGS: QueueSettings = { parallel: DEFAULT_QUEUE_PARALLEL, paused: false };

/** A queued exec's wait: resolves with it started, or undefined when it was stopped first (or could not be started). */
interface Waiter {
  readonly queue: string;
  readonly started: Promise<LiveExec | undefined>;
  readonly resolve: (started: LiveExec | undefined) => void;
}

export function checkQueueName(name: string): void {
  if (!QUEUE_NAME.test(name)) {
    throw invalidArgument("queue", `queue name ${JSON.stringify(name)} is not one: 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit (build, gpu.0)`);
  }
}

/**
 * Exec queues, as pueue's groups: an exec started in a queue runs once
 * fewer of the queue's execs run than its parallel limit, in the order they
 * came; until then it waits, its row saying queued (with what it was
 * started with, to start it then), so a daemon restart keeps it waiting.
 * The limits (and pauses) are stored; what runs and waits is known in memory, the
 * waiting ones put back in order at daemon start (`restore`). `start`
 * starts a waiting one as Execs.start does, which reports it `running`.
 */
export class ExecQueues {
  private readonly runningIds = new Map<string, Set<string>>();
  private readonly waiting = new Map<string, string[]>();
  private readonly waiters = new Map<string, Waiter>();
  private readonly settings = new Map<string, QueueSettings>();
  private readonly upsertSettings;
  private readonly deleteSettings;
  /** Set as the daemon stops: the ends of its running execs start no waiting one (the next daemon does). */
  private closed = false;

  constructor(
    db: Db,
    private readonly tables: ExecTables,
    private readonly start: (options: ExecStartOptions, queued: ExecRecord) => LiveExec,
  ) {
    this.upsertSettings = db.prepare(`INSERT INTO exec_queues (name, parallel, paused) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET parallel = excluded.parallel, paused = excluded.paused`);
    this.deleteSettings = db.prepare(`DELETE FROM exec_queues WHERE name = ?`);
    for (const row of db.prepare(`SELECT name, parallel, paused FROM exec_queues`).all() as { name: string; parallel: number; paused: number }[]) {
      this.settings.set(row.name, { parallel: row.parallel, paused: row.paused === 1 });
    }
  }

  /** Whether an exec submitted to `queue` now starts at once: a slot is free and none waits before it. */
  hasRoom(queue: string): boolean {
    return this.canStart(queue) && (this.waiting.get(queue)?.length ?? 0) === 0;
  }

  /** Counts exec `id` as running in `queue` until it has ended; its end lets the next one start. */
  running(queue: string, id: string, ended: Promise<unknown>): void {
    let ids = this.runningIds.get(queue);
    if (ids === undefined) this.runningIds.set(queue, (ids = new Set()));
    ids.add(id);
    const release = (): void => {
      ids.delete(id);
      if (ids.size === 0 && this.runningIds.get(queue) === ids) this.runningIds.delete(queue);
      this.pump(queue);
    };
    ended.then(release, release);
  }

  /** Stores `record` (status queued) with what it was started with, at the end of its queue; its start follows its turn. */
  add(record: ExecRecord, options: ExecStartOptions): QueuedExec {
    const queue = record.queue!;
    const { cwd, env, stdin, tty, outputMaxBytes, timeoutMs } = options;
    this.tables.insert(record, { cwd, env, stdin, tty, outputMaxBytes, line: record.id, timeoutMs, queue });
    return { record, started: this.enqueue(queue, record.id) };
  }

  /** At daemon start: the execs that waited when the last daemon stopped, oldest first, wait again; those that fit start. */
  restore(): void {
    for (const exec of this.tables.queued()) void this.enqueue(exec.queue ?? "", exec.id);
    for (const queue of this.waiting.keys()) this.pump(queue);
  }

  /** The wait of queued exec `id`, or undefined when it is not queued. */
  startOf(id: string): Promise<LiveExec | undefined> | undefined {
    return this.waiters.get(id)?.started;
  }

  /** How many wait before queued exec `id` in its queue; undefined when it is not queued. */
  ahead(id: string): number | undefined {
    const waiter = this.waiters.get(id);
    return waiter === undefined ? undefined : this.waiting.get(waiter.queue)!.indexOf(id);
  }

  /** Takes a queued exec out of its queue for a client (exec stop, kill, rm, saying `how`): it never runs. Undefined when it is not queued. */
  cancel(exec: ExecRecord, how: string): ExecRecord | undefined {
    const waiter = this.waiters.get(exec.id);
    if (waiter === undefined) return undefined;
    this.leave(waiter.queue, exec.id);
    const cancelled: ExecRecord = { ...exec, status: "cancelled", error: `stopped while queued in ${exec.queue} (${how}): it never ran`, endedAt: Date.now() };
    this.tables.update(cancelled);
    waiter.resolve(undefined);
    return cancelled;
  }

  /**
   * Sets how many of `queue`'s execs run at once (unchanged when undefined)
   * and pauses or resumes it (as it is when undefined), then starts what
   * that lets start.
   */
  update(queue: string, change: { parallel?: number | undefined; paused?: boolean | undefined }): QueueView {
    checkQueueName(queue);
    const { parallel = this.settingsOf(queue).parallel, paused = this.settingsOf(queue).paused } = change;
    if (!Number.isInteger(parallel) || parallel < 1 || parallel > QUEUE_PARALLEL_MAX) {
      throw invalidArgument("parallel", `parallel is ${parallel}: a queue runs 1 to ${QUEUE_PARALLEL_MAX} of its execs at once`);
    }
    if (!this.settings.has(queue) && this.settings.size >= QUEUE_SETTINGS_MAX) {
      throw new TetherError(Code.ResourceExhausted, "TOO_MANY_QUEUES", `the daemon keeps the settings of ${QUEUE_SETTINGS_MAX} queues already: forget those of one no longer used (tether exec queue Q --reset), then set ${queue}'s`, {
        limit: String(QUEUE_SETTINGS_MAX),
      });
    }
    this.upsertSettings.run(queue, parallel, paused ? 1 : 0);
    this.settings.set(queue, { parallel, paused });
    this.pump(queue);
    return this.view(queue);
  }

  /** Forgets `queue`'s settings: one at a time again, resumed; what waits in it starts as that lets it. */
  forget(queue: string): QueueView {
    checkQueueName(queue);
    this.deleteSettings.run(queue);
    this.settings.delete(queue);
    this.pump(queue);
    return this.view(queue);
  }

  /** Every queue with settings or execs in it, by name. */
  list(): QueueView[] {
    const names = new Set([...this.settings.keys(), ...this.runningIds.keys(), ...this.waiting.keys()]);
    return [...names].sort().map((name) => this.view(name));
  }

  view(queue: string): QueueView {
    const { parallel, paused } = this.settingsOf(queue);
    return { name: queue, parallel, paused, running: this.runningIds.get(queue)?.size ?? 0, queued: this.waiting.get(queue)?.length ?? 0 };
  }

  private settingsOf(queue: string): QueueSettings {
    return this.settings.get(queue) ?? DEFAULT_SETTINGS;
  }

  /** Whether one more of the queue's execs may start now: it is not paused and has a free slot. */
  private canStart(queue: string): boolean {
    const { parallel, paused } = this.settingsOf(queue);
    return !paused && (this.runningIds.get(queue)?.size ?? 0) < parallel;
  }

  /** As the daemon stops: what waits stays queued, for the next daemon. */
  close(): void {
    this.closed = true;
  }

  /** Starts the queue's oldest waiting execs while it has free slots. */
  private pump(queue: string): void {
    while (!this.closed) {
      const ids = this.waiting.get(queue);
      if (ids === undefined || !this.canStart(queue)) return;
      const id = ids[0]!;
      const waiter = this.waiters.get(id)!;
      this.leave(queue, id);
      waiter.resolve(this.startQueued(id));
    }
  }

  private enqueue(queue: string, id: string): Promise<LiveExec | undefined> {
    let ids = this.waiting.get(queue);
    if (ids === undefined) this.waiting.set(queue, (ids = []));
    ids.push(id);
    let resolve!: (started: LiveExec | undefined) => void;
    const started = new Promise<LiveExec | undefined>((r) => (resolve = r));
    this.waiters.set(id, { queue, started, resolve });
    return started;
  }

  /** Starts queued exec `id` as it was submitted, its turn come; undefined (its row saying why) when it cannot. */
  private startQueued(id: string): LiveExec | undefined {
    const exec = this.tables.byId(id);
    const spec = exec === undefined ? undefined : this.tables.restartSpec(exec.seq);
    if (exec === undefined || spec === undefined) return undefined;
    try {
      return this.start({ ...spec, workspace: exec.workspaceId, argv: exec.argv, name: exec.name ?? "", labels: exec.labels }, exec);
    } catch (error) {
      this.tables.update({ ...exec, status: "failed-to-start", exitCode: 127, error: `its turn in queue ${exec.queue} came, and it could not start: ${(error as Error).message}`, endedAt: Date.now() });
      return undefined;
    }
  }

  private leave(queue: string, id: string): void {
    const ids = this.waiting.get(queue)!;
    ids.splice(ids.indexOf(id), 1);
    if (ids.length === 0) this.waiting.delete(queue);
    this.waiters.delete(id);
  }
}
