import { Code } from "@connectrpc/connect";
import { TetherError, invalidArgument } from "./errors.js";
import type { Db } from "./store/database.js";

/** How many of a queue's members run at once until a client sets it: one, as pueue's default group. */
export const DEFAULT_QUEUE_PARALLEL = 1;
export const QUEUE_PARALLEL_MAX = 1000;
/** How many queues' settings the daemon keeps: a client naming a new queue at every call fills no table. */
export const QUEUE_SETTINGS_MAX = 1000;

/** A queue's name: as an exec's (process-names.ts). */
export const QUEUE_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

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

/** One waiting in a queue: `start`, called in its turn, starts it (reporting it `running`), or does nothing when it no longer wants the slot; `since`: when it came; `priority`: higher goes first (pueue add --priority). */
interface Member {
  readonly key: string;
  readonly start: () => void;
  readonly since: number;
  readonly priority: number;
}

export function checkQueueName(name: string): void {
  if (!QUEUE_NAME_PATTERN.test(name)) {
    throw invalidArgument("queue", queueNameProblem(name));
  }
}

/** Why `name` is no queue's name, in words. */
export function queueNameProblem(name: string): string {
  return `queue name ${JSON.stringify(name)} is not one: 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit (build, gpu.0)`;
}

/**
 * Queues, as pueue's groups: what runs in a queue (an exec started with
 * --queue, a run of a task with `queue:`) starts once fewer of the queue's
 * members run than its parallel limit, in the order they came, and none
 * while it is paused. Each member is known by a key (an exec's id, a run's
 * name). The settings are stored; what runs and waits is known in memory:
 * its owners put what waited back at daemon start (`restoring`), each in
 * its place by when it came, whatever its kind.
 */
export class Queues {
  private readonly runningKeys = new Map<string, Set<string>>();
  private readonly waiting = new Map<string, Member[]>();
  /** The queue each waiting key waits in. */
  private readonly waitingIn = new Map<string, string>();
  private readonly settings = new Map<string, QueueSettings>();
  private readonly upsertSettings;
  private readonly deleteSettings;
  /** Set as the daemon stops: the ends of what runs start nothing (the next daemon does). */
  private closed = false;
  /** While the daemon puts back what waited (restoring): nothing starts, so none goes before one that came earlier. */
  private holding = false;

  constructor(db: Db) {
    this.upsertSettings = db.prepare(`INSERT INTO queues (name, parallel, paused) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET parallel = excluded.parallel, paused = excluded.paused`);
    this.deleteSettings = db.prepare(`DELETE FROM queues WHERE name = ?`);
    for (const row of db.prepare(`SELECT name, parallel, paused FROM queues`).all() as { name: string; parallel: number; paused: number }[]) {
      this.settings.set(row.name, { parallel: row.parallel, paused: row.paused === 1 });
    }
  }

  /** Whether a member that comes to `queue` now starts at once: it is not paused, a slot is free and none waits before it. */
  hasRoom(queue: string): boolean {
    return !this.holding && this.canStart(queue) && !this.waiting.has(queue);
  }

  /**
   * Runs `restore` (the daemon's owners putting back what waited when the
   * last daemon stopped) with nothing starting meanwhile; then each queue
   * starts what it has room for, in the order its members came.
   */
  restoring(restore: () => void): void {
    this.holding = true;
    try {
      restore();
    } finally {
      this.holding = false;
      for (const queue of [...this.waiting.keys()]) this.pump(queue);
    }
  }

  /** Counts `key` as running in `queue` until `ended` settles; its end lets the next one start. */
  running(queue: string, key: string, ended: Promise<unknown>): void {
    let keys = this.runningKeys.get(queue);
    if (keys === undefined) this.runningKeys.set(queue, (keys = new Set()));
    keys.add(key);
    const release = (): void => {
      keys.delete(key);
      if (keys.size === 0 && this.runningKeys.get(queue) === keys) this.runningKeys.delete(queue);
      this.pump(queue);
    };
    ended.then(release, release);
  }

  /**
   * Puts `key` in `queue`'s line after every member of a higher `priority`,
   * and of the same one that came no later than `since` (now: at the end of
   * its priority's), as pueue orders a group's tasks; `start` is called in
   * its turn: at once when the queue has room now.
   */
  wait(queue: string, key: string, start: () => void, since = Date.now(), priority = 0): void {
    let members = this.waiting.get(queue);
    if (members === undefined) this.waiting.set(queue, (members = []));
    const later = members.findIndex((m) => m.priority < priority || (m.priority === priority && m.since > since));
    members.splice(later === -1 ? members.length : later, 0, { key, start, since, priority });
    this.waitingIn.set(key, queue);
    this.pump(queue);
  }

  /** Takes waiting `key` out of its queue; false when it was not waiting. */
  leave(key: string): boolean {
    const queue = this.waitingIn.get(key);
    if (queue === undefined) return false;
    const members = this.waiting.get(queue)!;
    members.splice(
      members.findIndex((m) => m.key === key),
      1,
    );
    if (members.length === 0) this.waiting.delete(queue);
    this.waitingIn.delete(key);
    return true;
  }

  /** How many wait before waiting `key` in its queue; undefined when it is not waiting. */
  ahead(key: string): number | undefined {
    const queue = this.waitingIn.get(key);
    return queue === undefined ? undefined : this.waiting.get(queue)!.findIndex((m) => m.key === key);
  }

  /**
   * Sets how many of `queue`'s members run at once (unchanged when
   * undefined) and pauses or resumes it (as it is when undefined), then
   * starts what that lets start.
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

  /** Every queue with settings or members, by name. */
  list(): QueueView[] {
    const names = new Set([...this.settings.keys(), ...this.runningKeys.keys(), ...this.waiting.keys()]);
    return [...names].sort().map((name) => this.view(name));
  }

  view(queue: string): QueueView {
    const { parallel, paused } = this.settingsOf(queue);
    return { name: queue, parallel, paused, running: this.runningKeys.get(queue)?.size ?? 0, queued: this.waiting.get(queue)?.length ?? 0 };
  }

  /** As the daemon stops: what waits stays waiting, for the next daemon. */
  close(): void {
    this.closed = true;
  }

  private settingsOf(queue: string): QueueSettings {
    return this.settings.get(queue) ?? DEFAULT_SETTINGS;
  }

  /** Whether one more of the queue's members may start now: it is not paused and has a free slot. */
  private canStart(queue: string): boolean {
    const { parallel, paused } = this.settingsOf(queue);
    return !paused && (this.runningKeys.get(queue)?.size ?? 0) < parallel;
  }

  /** Starts the queue's oldest waiting members while it has room; one that no longer wants its slot is passed over. */
  private pump(queue: string): void {
    while (!this.closed && !this.holding && this.canStart(queue)) {
      const next = this.waiting.get(queue)?.[0];
      if (next === undefined) return;
      this.leave(next.key);
      next.start();
    }
  }
}
