import { setLongTimeout } from "../long-timeout.js";
import { untilClock } from "../start-time.js";

/** How a new session's state log begins: its start, and when its graph starts if that is later. */
export function startedReason(startsAt: number | undefined): string {
  return startsAt === undefined ? "session started" : `session started; its graph starts at ${new Date(startsAt).toISOString()}`;
}

/**
 * The timers a session's runs wait on: its start time, when it was given
 * one (tether run --at, as pueue add --delay: nothing of its graph starts
 * before), and its retries waiting out their delay (at most one per task,
 * each firing once unless cleared).
 */
export class SessionTimers {
  private readonly retries = new Map<string, { readonly timer: NodeJS.Timeout; readonly at: number }>();
  private startWait: AbortController | undefined;
  private started: boolean;

  constructor(private readonly startAt: number | undefined) {
    this.started = startAt === undefined;
  }

  /** Whether `task` has a retry waiting (a function, so it can be handed on as one). */
  readonly has = (task: string): boolean => this.retries.has(task);

  /** How many retries wait. */
  get size(): number {
    return this.retries.size;
  }

  /** Each waiting retry's task and when it fires (for deriveActivity). */
  get waiting(): ReadonlyMap<string, { readonly at: number }> {
    return this.retries;
  }

  /** The time the session starts its graph, while that is still to come (for deriveActivity); else undefined. */
  get startsAt(): number | undefined {
    return this.started || this.startAt! <= Date.now() ? undefined : this.startAt;
  }

  /**
   * Whether the session's start time is still to come (one passed while no
   * daemon ran is not); while it is, `fire` is called at it, read on the
   * wall clock (untilClock), the wait begun by the first ask after the
   * timers were made or cleared.
   */
  beforeStart(fire: () => void): boolean {
    if (this.started) return false;
    if (this.startAt! <= Date.now()) {
      this.started = true;
      return false;
    }
    if (this.startWait === undefined) {
      this.startWait = new AbortController();
      untilClock(this.startAt!, this.startWait.signal, () => {
        this.started = true;
        fire();
      });
    }
    return true;
  }

  /** Calls `fire` once `delayMs` have passed, unless cleared before. */
  arm(task: string, delayMs: number, fire: () => void): void {
    const timer = setLongTimeout(() => {
      this.retries.delete(task);
      fire();
    }, delayMs);
    this.retries.set(task, { timer, at: Date.now() + delayMs });
  }

  /** Clears the retries waiting and says whose they were: their tasks' failures stand. */
  dropRetries(): string[] {
    const tasks = [...this.retries.keys()];
    for (const { timer } of this.retries.values()) clearTimeout(timer);
    this.retries.clear();
    return tasks;
  }

  /** Clears every timer: the retries and the start. */
  clear(): void {
    this.dropRetries();
    this.startWait?.abort();
    this.startWait = undefined;
  }
}
