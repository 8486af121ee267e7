import { Code } from "@connectrpc/connect";
import { TetherError, invalidArgument } from "../errors.js";
import type { Queues } from "../queues.js";
import type { ExecTables } from "./exec-tables.js";
import type { ExecStartOptions, LiveExec, QueuedExec } from "./execs.js";
import { restartSpecOf } from "./exec-records.js";
import { untilClock } from "../start-time.js";
import type { ExecRecord } from "./types.js";

/** A queued exec's wait: resolves with it started, or undefined when it never starts. */
interface Waiter {
  readonly started: Promise<LiveExec | undefined>;
  readonly resolve: (started: LiveExec | undefined) => void;
  /** Ends its wait for the execs it starts after, when it is taken out first. */
  readonly abort: AbortController;
}

/**
 * Execs that wait before they start (status queued): for their time
 * (exec --delay, --at), then for the execs they start after (exec --after)
 * to have ended, then for their turn in their queue (exec --queue, see
 * Queues). Each is stored with what it was started with, so a daemon
 * restart keeps it waiting, and started in its turn as Execs.start starts
 * it (which reports it running in its queue). One whose predecessor did not
 * exit 0 never runs (cancelled), as pueue's dependants.
 */
export class ExecQueues {
  private readonly waiters = new Map<string, Waiter>();

  constructor(
    private readonly queues: Queues,
    private readonly tables: ExecTables,
    private readonly start: (options: ExecStartOptions, queued: ExecRecord) => LiveExec,
    /** Resolves with exec `id` once it has ended for good (ExecWaits.end). */
    private readonly ended: (id: string, signal: AbortSignal) => Promise<ExecRecord>,
    /** Reports a queued exec's end without running (cancelled, or it could not start in its turn). */
    private readonly reportEnd: (exec: ExecRecord) => void,
  ) {}

  /** Stores `record` (status queued) with what it was started with; it starts once what it waits for allows. */
  add(record: ExecRecord, options: ExecStartOptions): QueuedExec {
    this.tables.insert(record, restartSpecOf(options, record.id));
    return { record, started: this.wait(record) };
  }

  /** At daemon start: the execs that waited when the last daemon stopped wait again, oldest first (those whose turn it is start). */
  restore(): void {
    for (const exec of this.tables.queued()) void this.wait(exec);
  }

  /** The wait of queued exec `id`, or undefined when it is not queued. */
  startOf(id: string): Promise<LiveExec | undefined> | undefined {
    return this.waiters.get(id)?.started;
  }

  /** What queued exec `exec` waits for, in words: "in queue ci (2 before it)", "until 2026-12-08T03:00:00.000Z, then for e-8f2k1 to end, then in queue ci". */
  waitsFor(exec: ExecRecord): string {
    const ahead = this.queues.ahead(exec.id);
    if (ahead !== undefined) return `in queue ${exec.queue} (${ahead} before it)`;
    const until = exec.startAt !== undefined && exec.startAt > Date.now() ? `until ${new Date(exec.startAt).toISOString()}` : "";
    const parts = [until, exec.after.length > 0 ? `for ${exec.after.join(", ")} to end` : "", exec.queue === undefined ? "" : `in queue ${exec.queue}`];
    return parts.filter((part) => part !== "").join(", then ");
  }

  /** Takes a queued exec out for a client (exec stop, kill, rm, saying `how`): it never runs. Undefined when it is not queued. */
  cancel(exec: ExecRecord, how: string): ExecRecord | undefined {
    const waiter = this.takeOut(exec.id);
    return waiter && this.neverRuns(exec, waiter, `stopped while queued${exec.queue === undefined ? "" : ` in ${exec.queue}`} (${how}): it never ran`);
  }

  /**
   * Starts queued exec `exec` now, as pueue start does a queued task:
   * whatever it waited for (its time, the execs it was to start after, its
   * queue's turn); undefined when it could not start (its row says why).
   * One not queued is refused (EXEC_NOT_QUEUED).
   */
  startNow(exec: ExecRecord): LiveExec | undefined {
    const waiter = this.takeOut(exec.id);
    if (waiter === undefined) {
      const how = exec.status === "running" ? "it runs already" : `it has ended (${exec.status}): tether exec restart ${exec.id} starts its command again`;
      throw new TetherError(Code.FailedPrecondition, "EXEC_NOT_QUEUED", `exec ${exec.id} is not queued: ${how}`, { exec: exec.id, status: exec.status });
    }
    const started = this.startQueued(exec.id);
    waiter.resolve(started);
    return started;
  }

  /** As the daemon stops: what waits for other execs to end stays queued, for the next daemon to wait again. */
  close(): void {
    for (const waiter of this.waiters.values()) waiter.abort.abort();
  }

  private wait(exec: ExecRecord): Promise<LiveExec | undefined> {
    let resolve!: (started: LiveExec | undefined) => void;
    const started = new Promise<LiveExec | undefined>((r) => (resolve = r));
    const abort = new AbortController();
    this.waiters.set(exec.id, { started, resolve, abort });
    const inTurn = (): void => {
      this.waiters.delete(exec.id);
      resolve(this.startQueued(exec.id));
    };
    // In its queue's line as of when it was started, as pueue orders its tasks (one restored after a daemon restart too).
    const join = (): void => (exec.queue === undefined ? inTurn() : this.queues.wait(exec.queue, exec.id, inTurn, exec.createdAt, exec.priority));
    const afterOthers = (): void => {
      if (exec.after.length === 0) return join();
      void this.whyNot(exec, abort.signal).then(
        (why) => {
          if (abort.signal.aborted) return;
          if (why === undefined) join();
          else this.neverRuns(exec, this.takeOut(exec.id)!, `${why}: it never ran`);
        },
        () => undefined, // Aborted: taken out, or the daemon stops.
      );
    };
    // Its time first (exec --delay: pueue's stashed until then), then the others, then its queue.
    if (exec.startAt === undefined) afterOthers();
    else untilClock(exec.startAt, abort.signal, afterOthers);
    return started;
  }

  /** Once the execs `exec` starts after have ended: undefined when each exited 0, else why it must not run. */
  private async whyNot(exec: ExecRecord, signal: AbortSignal): Promise<string | undefined> {
    const ends = await Promise.all(exec.after.map((id) => this.ended(id, signal).catch((gone: unknown) => ({ id, gone }))));
    if (signal.aborted) throw signal.reason;
    for (const end of ends) {
      if ("gone" in end) return `exec ${end.id}, which it was to start after, is gone (${(end.gone as Error).message})`;
      if (end.status !== "exited" || end.exitCode !== 0) return `exec ${end.id}, which it was to start after, ${endWords(end)}`;
    }
    return undefined;
  }

  /** Ends queued exec `id`'s wait (its clock, its wait for others, its place in its queue's line): its waiter, or undefined when it is not queued. */
  private takeOut(id: string): Waiter | undefined {
    const waiter = this.waiters.get(id);
    if (waiter === undefined) return undefined;
    this.waiters.delete(id);
    waiter.abort.abort();
    this.queues.leave(id);
    return waiter;
  }

  /** Records taken-out `exec` cancelled (`error` saying why) and tells its waiters it never starts. */
  private neverRuns(exec: ExecRecord, waiter: Waiter, error: string): ExecRecord {
    const cancelled: ExecRecord = { ...(this.tables.byId(exec.id) ?? exec), status: "cancelled", error, endedAt: Date.now() };
    this.tables.update(cancelled);
    this.reportEnd(cancelled);
    waiter.resolve(undefined);
    return cancelled;
  }

  /** Starts queued exec `id` as it was submitted, its turn come; undefined (its row saying why) when it cannot. */
  private startQueued(id: string): LiveExec | undefined {
    const exec = this.tables.byId(id);
    const spec = exec === undefined ? undefined : this.tables.restartSpec(exec.seq);
    if (exec === undefined || spec === undefined) return undefined;
    try {
      return this.start({ ...spec, workspace: exec.workspaceId, argv: exec.argv, name: exec.name ?? "", labels: exec.labels }, exec);
    } catch (error) {
      const failed: ExecRecord = { ...exec, status: "failed-to-start", exitCode: 127, error: `its turn came, and it could not start: ${(error as Error).message}`, endedAt: Date.now() };
      this.tables.update(failed);
      this.reportEnd(failed);
      return undefined;
    }
  }
}

/** How many execs one may start after (exec --after). */
const AFTER_MAX = 100;

/** Refuses more execs to start after than AFTER_MAX; `refs` as they are. */
export function checkAfter(refs: readonly string[]): readonly string[] {
  if (refs.length > AFTER_MAX) throw invalidArgument("after", `an exec starts after at most ${AFTER_MAX} others, not ${refs.length}: a session's task graph holds larger ones (tether run)`);
  return refs;
}

/** How an exec that was not a success ended, in a few words: "exited 3", "was killed by SIGTERM". */
function endWords(exec: ExecRecord): string {
  switch (exec.status) {
    case "exited":
      return `exited ${exec.exitCode}`;
    case "signalled":
      return `was killed by ${exec.signal}`;
    case "failed-to-start":
      return "could not start";
    case "lost":
      return "was lost with the daemon";
    case "cancelled":
      return "never ran";
    default:
      return `is ${exec.status}`;
  }
}
