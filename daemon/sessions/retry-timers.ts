import { setLongTimeout } from "../long-timeout.js";

/** A session's retries waiting out their delay: at most one per task, each firing once unless cleared. */
export class RetryTimers {
  private readonly timers = new Map<string, { readonly timer: NodeJS.Timeout; readonly at: number }>();

  /** Whether `task` has a retry waiting (a function, so it can be handed on as one). */
  readonly has = (task: string): boolean => this.timers.has(task);

  /** How many retries wait. */
  get size(): number {
    return this.timers.size;
  }

  /** Each waiting retry's task and when it fires (for deriveActivity). */
  get waiting(): ReadonlyMap<string, { readonly at: number }> {
    return this.timers;
  }

  /** Calls `fire` once `delayMs` have passed, unless cleared before. */
  arm(task: string, delayMs: number, fire: () => void): void {
    const timer = setLongTimeout(() => {
      this.timers.delete(task);
      fire();
    }, delayMs);
    this.timers.set(task, { timer, at: Date.now() + delayMs });
  }

  clear(): void {
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }
}
