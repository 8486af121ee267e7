import type { Queues } from "../queues.js";
import type { ExecTables } from "./exec-tables.js";
import type { ExecStartOptions, LiveExec, QueuedExec } from "./execs.js";
import type { ExecRecord } from "./types.js";

/** A queued exec's wait: resolves with it started, or undefined when it was stopped first (or could not be started). */
interface Waiter {
  readonly started: Promise<LiveExec | undefined>;
  readonly resolve: (started: LiveExec | undefined) => void;
}

/**
 * Execs waiting in their queue (exec --queue, see Queues): each stored
 * with status queued and what it was started with, so a daemon restart
 * keeps it waiting, and started in its turn as Execs.start starts it (which
 * reports it running in its queue).
 */
export class ExecQueues {
  private readonly waiters = new Map<string, Waiter>();

  constructor(
    private readonly queues: Queues,
    private readonly tables: ExecTables,
    private readonly start: (options: ExecStartOptions, queued: ExecRecord) => LiveExec,
  ) {}

  /** Stores `record` (status queued) with what it was started with, at the end of its queue; its start follows its turn. */
  add(record: ExecRecord, options: ExecStartOptions): QueuedExec {
    const { cwd, env, stdin, tty, outputMaxBytes, timeoutMs } = options;
    this.tables.insert(record, { cwd, env, stdin, tty, outputMaxBytes, line: record.id, timeoutMs, queue: record.queue });
    return { record, started: this.enqueue(record.queue!, record.id) };
  }

  /** At daemon start: the execs that waited when the last daemon stopped wait again, oldest first (Queues.pumpAll starts those that fit). */
  restore(): void {
    for (const exec of this.tables.queued()) void this.enqueue(exec.queue ?? "", exec.id);
  }

  /** The wait of queued exec `id`, or undefined when it is not queued. */
  startOf(id: string): Promise<LiveExec | undefined> | undefined {
    return this.waiters.get(id)?.started;
  }

  /** How many wait before queued exec `id` in its queue; undefined when it is not queued. */
  ahead(id: string): number | undefined {
    return this.queues.ahead(id);
  }

  /** Takes a queued exec out of its queue for a client (exec stop, kill, rm, saying `how`): it never runs. Undefined when it is not queued. */
  cancel(exec: ExecRecord, how: string): ExecRecord | undefined {
    const waiter = this.waiters.get(exec.id);
    if (waiter === undefined || !this.queues.leave(exec.id)) return undefined;
    this.waiters.delete(exec.id);
    const cancelled: ExecRecord = { ...exec, status: "cancelled", error: `stopped while queued in ${exec.queue} (${how}): it never ran`, endedAt: Date.now() };
    this.tables.update(cancelled);
    waiter.resolve(undefined);
    return cancelled;
  }

  private enqueue(queue: string, id: string): Promise<LiveExec | undefined> {
    let resolve!: (started: LiveExec | undefined) => void;
    const started = new Promise<LiveExec | undefined>((r) => (resolve = r));
    this.waiters.set(id, { started, resolve });
    this.queues.wait(queue, id, () => {
      this.waiters.delete(id);
      resolve(this.startQueued(id));
    });
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
}
