import type { Queues } from "../queues.js";

/**
 * A session's runs of tasks with a `queue:` in that queue (see Queues,
 * shared with execs and other sessions' runs): a run whose turn has not
 * come waits (still `queued`), and a launched one holds its slot until its
 * process has ended. Each is known to the queue by its run's name.
 */
export class RunQueueSlots {
  /** Runs waiting for their turn, with their queue. */
  private readonly waiting = new Map<number, string>();
  /** Runs holding a slot, with what gives it back. */
  private readonly holding = new Map<number, () => void>();

  constructor(
    private readonly queues: Queues,
    private readonly sessionId: string,
  ) {}

  /** How many of the session's runs wait for their turn: each holds its place in the session's parallelism meanwhile. */
  get waitingCount(): number {
    return this.waiting.size;
  }

  isWaiting(run: number): boolean {
    return this.waiting.has(run);
  }

  /** What each waiting run waits for, by run number ("a slot in queue gpu"): asked at every transition, so nothing is made when none waits. */
  describe(): ReadonlyMap<number, string> {
    if (this.waiting.size === 0) return NONE;
    return new Map([...this.waiting].map(([run, queue]) => [run, `a slot in queue ${queue}`]));
  }

  /** Whether `run` (queued `since`, of `priority` there) may launch now in `queue`; if not, it waits, and `launch` is called in its turn. */
  admit(run: number, queue: string, since: number, priority: number, launch: () => void): boolean {
    if (this.queues.hasRoom(queue)) return true;
    this.waiting.set(run, queue);
    const inTurn = (): void => {
      this.waiting.delete(run);
      launch();
    };
    this.queues.wait(queue, this.key(run), inTurn, since, priority);
    return false;
  }

  /** `run` launches in `queue`: it counts there until `release`. */
  hold(run: number, queue: string): void {
    let release!: () => void;
    this.queues.running(queue, this.key(run), new Promise<void>((resolve) => (release = resolve)));
    this.holding.set(run, release);
  }

  /** `run`'s process has ended: its slot goes to the next in its queue. */
  release(run: number): void {
    this.holding.get(run)?.();
    this.holding.delete(run);
  }

  /** `run` no longer waits (cancelled, skipped): out of its queue. */
  leave(run: number): void {
    if (this.waiting.delete(run)) this.queues.leave(this.key(run));
  }

  private key(run: number): string {
    return `sessions/${this.sessionId}/runs/${run}`;
  }
}

const NONE: ReadonlyMap<number, string> = new Map();

/** Why a run is queued, in its state log: "" (a slot of its session's), or the queue its task takes a slot in. */
export function queuedReason(queue: string | undefined): string {
  return queue === undefined ? "" : `in queue ${queue}`;
}
