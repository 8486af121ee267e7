import { Code } from "@connectrpc/connect";
import { TetherError } from "../errors.js";
import { setLongTimeout } from "../long-timeout.js";
import { untilClock } from "../start-time.js";

/** Why a session must not start after session `id` once that has ended (undefined: it succeeded); see session-after.ts. */
export type SessionEnded = (id: string, signal: AbortSignal) => Promise<string | undefined>;

/**
 * What a session's runs wait on besides each other: its start, when it was
 * given a time (tether run --at, as pueue add --delay) or sessions to end
 * first (run --after, as pueue add --after): nothing of its graph starts
 * before; and its retries waiting out their delay (at most one per task,
 * each firing once unless cleared).
 */
export class SessionTimers {
  private readonly retries = new Map<string, { readonly timer: NodeJS.Timeout; readonly at: number }>();
  private readonly startAt: number | undefined;
  /** The sessions it starts after that have not ended yet (as far as it has looked). */
  private readonly awaited: Set<string>;
  private startWait: AbortController | undefined;
  private started: boolean;

  /** `begun`: its graph has started already (a run left pending), so what its start waited for is behind it, whatever became of it since (a session it started after removed). */
  constructor(
    spec: { readonly startAt?: number; readonly after?: readonly string[] },
    begun: boolean,
    private readonly sessionEnded: SessionEnded,
  ) {
    this.startAt = spec.startAt;
    this.awaited = new Set(begun ? [] : spec.after);
    this.started = begun || (spec.startAt === undefined && this.awaited.size === 0);
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

  /** What its start waits for, while it does (for deriveActivity): its time, sessions to end; else undefined. */
  get startWaitingFor(): string | undefined {
    if (this.started) return undefined;
    const time = this.startAt !== undefined && this.startAt > Date.now() ? [`its start at ${new Date(this.startAt).toISOString()}`] : [];
    const parts = [...time, ...[...this.awaited].map((id) => `${id} to end`)];
    return parts.length === 0 ? undefined : parts.join(", ");
  }

  /** How a new session's first event reads: started, and what its graph waits for if anything. */
  get startedReason(): string {
    const waits = this.startWaitingFor;
    return waits === undefined ? "session started" : `session started; its graph waits for ${waits}`;
  }

  /** Whether the start waits for something to come (a retry's countdown, a start time, a session to end): what it waits for is said again as of now. */
  get counting(): boolean {
    return this.retries.size > 0 || !this.started;
  }

  /**
   * Whether the session's start is still to come: its time (read on the
   * wall clock, untilClock; one passed while no daemon ran is not), then
   * each session it starts after to end. While it is, `fire` is called
   * once the wait is over (`refused`: why it must not start, one of those
   * sessions did not succeed), the wait begun by the first ask after the
   * timers were made or cleared.
   */
  beforeStart(fire: (refused?: string) => void): boolean {
    if (this.started) return false;
    if (this.awaited.size === 0 && (this.startAt === undefined || this.startAt <= Date.now())) {
      this.started = true;
      return false;
    }
    if (this.startWait === undefined) {
      const wait = (this.startWait = new AbortController());
      void this.waitForStart(wait.signal).then((refused) => {
        if (wait.signal.aborted) return;
        if (refused === undefined) this.started = true;
        fire(refused);
      });
    }
    return true;
  }

  /**
   * Starts it now, whatever its start waits for (tether start, as pueue
   * start): the wait dropped, the sessions it was to start after no longer
   * asked. Returns what it waited for; refused (SESSION_STARTED) when its
   * start is behind it already.
   */
  startNow(sessionId: string): string {
    if (this.started) {
      const hint = `tether show ${sessionId} lists its runs; tether rerun ${sessionId} starts its task again`;
      throw new TetherError(Code.FailedPrecondition, "SESSION_STARTED", `session ${sessionId} does not wait to start: its graph has started (${hint})`, { session: sessionId });
    }
    const waited = this.startWaitingFor ?? `its start at ${new Date(this.startAt ?? Date.now()).toISOString()}`;
    this.startWait?.abort();
    this.startWait = undefined;
    this.awaited.clear();
    this.started = true;
    return waited;
  }

  /** Its time, then the sessions it starts after: undefined once each has ended a success, else why not as soon as one did not. */
  private async waitForStart(signal: AbortSignal): Promise<string | undefined> {
    if (this.startAt !== undefined) await new Promise<void>((resolve) => untilClock(this.startAt!, signal, resolve));
    const awaited = [...this.awaited];
    if (awaited.length === 0) return undefined;
    return new Promise((resolve) => {
      let left = awaited.length;
      const ended = (id: string, refused: string | undefined): void => {
        if (signal.aborted) return;
        if (refused !== undefined) return resolve(refused);
        this.awaited.delete(id);
        if (--left === 0) resolve(undefined);
      };
      for (const id of awaited) this.sessionEnded(id, signal).then((refused) => ended(id, refused), (error: unknown) => ended(id, `the wait for session ${id} failed: ${(error as Error).message}`));
    });
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
