import { invalidArgument } from "../errors.js";
import type { Db } from "../store/database.js";

/** How many of a queue's execs run at once until a client sets it: one, as pueue's default group. */
export const DEFAULT_QUEUE_PARALLEL = 1;
export const QUEUE_PARALLEL_MAX = 1000;

/** A queue's name: as an exec's (process-names.ts). */
const QUEUE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** One queue as a listing shows it. */
export interface QueueView {
  readonly name: string;
  readonly parallel: number;
  readonly running: number;
  readonly queued: number;
}

/** A queued exec's wait: resolves with it started, or undefined when it was stopped first (or could not be started). */
interface Waiter<T> {
  readonly queue: string;
  readonly started: Promise<T | undefined>;
  readonly resolve: (started: T | undefined) => void;
}

export function checkQueueName(name: string): void {
  if (!QUEUE_NAME.test(name)) {
    throw invalidArgument("queue", `queue name ${JSON.stringify(name)} is not one: 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit (build, gpu.0)`);
  }
}

/**
 * Exec queues, as pueue's groups: an exec started in a queue runs once
 * fewer of the queue's execs run than its parallel limit, in the order they
 * came; until then it waits (its row says queued, so a daemon restart
 * keeps it waiting). The limits are stored; what runs and waits is known in
 * memory, the waiting ones put back in order at daemon start (`restore`).
 * `startQueued` starts a waiting exec (and reports it running through
 * `running`), or records why it could not and answers undefined.
 */
export class ExecQueues<T extends { readonly ended: Promise<unknown> }> {
  private readonly runningIds = new Map<string, Set<string>>();
  private readonly waiting = new Map<string, string[]>();
  private readonly waiters = new Map<string, Waiter<T>>();
  private readonly limits = new Map<string, number>();
  private readonly upsertLimit;
  /** Set as the daemon stops: the ends of its running execs start no waiting one (the next daemon does). */
  private closed = false;

  constructor(
    db: Db,
    private readonly startQueued: (id: string) => T | undefined,
  ) {
    this.upsertLimit = db.prepare(`INSERT INTO exec_queues (name, parallel) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET parallel = excluded.parallel`);
    for (const row of db.prepare(`SELECT name, parallel FROM exec_queues`).all() as { name: string; parallel: number }[]) this.limits.set(row.name, row.parallel);
  }

  /** Whether an exec submitted to `queue` now starts at once: a slot is free and none waits before it. */
  hasRoom(queue: string): boolean {
    return (this.runningIds.get(queue)?.size ?? 0) < this.parallelOf(queue) && (this.waiting.get(queue)?.length ?? 0) === 0;
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

  /** Puts exec `id` at the end of `queue`; resolves once it has started (undefined: stopped before it did). */
  enqueue(queue: string, id: string): Promise<T | undefined> {
    let ids = this.waiting.get(queue);
    if (ids === undefined) this.waiting.set(queue, (ids = []));
    ids.push(id);
    let resolve!: (started: T | undefined) => void;
    const started = new Promise<T | undefined>((r) => (resolve = r));
    this.waiters.set(id, { queue, started, resolve });
    return started;
  }

  /** At daemon start: the execs that waited when the last daemon stopped, oldest first, wait again; those that fit start. */
  restore(queued: readonly { readonly id: string; readonly queue: string }[]): void {
    for (const { id, queue } of queued) void this.enqueue(queue, id);
    for (const queue of this.waiting.keys()) this.pump(queue);
  }

  /** The wait of queued exec `id`, or undefined when it is not queued. */
  startOf(id: string): Promise<T | undefined> | undefined {
    return this.waiters.get(id)?.started;
  }

  /** How many wait before queued exec `id` in its queue; undefined when it is not queued. */
  ahead(id: string): number | undefined {
    const waiter = this.waiters.get(id);
    return waiter === undefined ? undefined : this.waiting.get(waiter.queue)!.indexOf(id);
  }

  /** Takes queued exec `id` out of its queue (it will never start); false when it was not queued. */
  cancel(id: string): boolean {
    const waiter = this.waiters.get(id);
    if (waiter === undefined) return false;
    this.leave(waiter.queue, id);
    waiter.resolve(undefined);
    return true;
  }

  /** Sets how many of `queue`'s execs run at once, and starts what the new limit lets start. */
  setParallel(queue: string, parallel: number): QueueView {
    checkQueueName(queue);
    if (!Number.isInteger(parallel) || parallel < 1 || parallel > QUEUE_PARALLEL_MAX) {
      throw invalidArgument("parallel", `parallel is ${parallel}: a queue runs 1 to ${QUEUE_PARALLEL_MAX} of its execs at once`);
    }
    this.upsertLimit.run(queue, parallel);
    this.limits.set(queue, parallel);
    this.pump(queue);
    return this.view(queue);
  }

  /** Every queue with a limit set or execs in it, by name. */
  list(): QueueView[] {
    const names = new Set([...this.limits.keys(), ...this.runningIds.keys(), ...this.waiting.keys()]);
    return [...names].sort().map((name) => this.view(name));
  }

  view(queue: string): QueueView {
    return { name: queue, parallel: this.parallelOf(queue), running: this.runningIds.get(queue)?.size ?? 0, queued: this.waiting.get(queue)?.length ?? 0 };
  }

  private parallelOf(queue: string): number {
    return this.limits.get(queue) ?? DEFAULT_QUEUE_PARALLEL;
  }

  /** As the daemon stops: what waits stays queued, for the next daemon. */
  close(): void {
    this.closed = true;
  }

  /** Starts the queue's oldest waiting execs while it has free slots. */
  private pump(queue: string): void {
    while (!this.closed) {
      const ids = this.waiting.get(queue);
      if (ids === undefined || (this.runningIds.get(queue)?.size ?? 0) >= this.parallelOf(queue)) return;
      const id = ids[0]!;
      const waiter = this.waiters.get(id)!;
      this.leave(queue, id);
      waiter.resolve(this.startQueued(id));
    }
  }

  private leave(queue: string, id: string): void {
    const ids = this.waiting.get(queue)!;
    ids.splice(ids.indexOf(id), 1);
    if (ids.length === 0) this.waiting.delete(queue);
    this.waiters.delete(id);
  }
}
