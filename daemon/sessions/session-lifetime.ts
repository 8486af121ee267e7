import { formatMs } from "../../common/format.js";
import { Waiters } from "./waiters.js";
import { setLongTimeout } from "../long-timeout.js";

/**
 * When a live session is quiet, expires and retires: its ttl and idle
 * timers, who waits for quiet and for retirement, and the commit of its
 * newest state change, which both wait for: a reader woken then and reading
 * to the end sees that change in the store.
 */
export class SessionLifetime {
  private readonly ttlTimers: NodeJS.Timeout[] = [];
  private idleTimer: NodeJS.Timeout | undefined;
  private readonly quietWaiters = new Waiters();
  private readonly retiredWaiters = new Waiters();
  private lastCommit: Promise<unknown> = Promise.resolve();
  /** Settles once the store holds the newest state (a failed commit's state stored again): what retirement waits for. */
  private lastStored: Promise<unknown> = Promise.resolve();
  private retiredNow = false;

  constructor(
    /** Ends the session as expired, saying why. */
    private readonly expire: (why: string) => void,
    /** Called once retired: ended, and its last change durable. */
    private readonly onRetired: () => void,
  ) {}

  /** True once the session has ended and its last change is durable. */
  get retired(): boolean {
    return this.retiredNow;
  }

  /** The commit of the session's newest state change, and when the store holds that state (later, when the commit failed). */
  committing(commit: Promise<unknown>, stored: Promise<unknown> = commit): void {
    this.lastCommit = commit.catch(() => undefined);
    this.lastStored = stored.catch(() => undefined);
  }

  /** Resolves once quiet (now, if `quiet`: once the newest change is durable), or the signal aborts. */
  waitQuiet(quiet: boolean, signal: AbortSignal): Promise<void> {
    return quiet ? this.lastCommit.then(() => undefined) : this.quietWaiters.wait(signal);
  }

  /** Resolves once retired, or the signal aborts. */
  waitRetired(signal: AbortSignal): Promise<void> {
    return this.retiredNow ? Promise.resolve() : this.retiredWaiters.wait(signal);
  }

  /** Arms the ttl: the session expires `ttlMs` after `createdAt` (0: never). */
  armTtl(createdAt: number, ttlMs: number): void {
    if (ttlMs > 0) this.ttlTimers.push(setLongTimeout(() => this.expire(`its ttl of ${formatMs(ttlMs)} passed`), Math.max(0, createdAt + ttlMs - Date.now())));
  }

  /** After every change: wakes who waits for quiet when it is; the session expires after `idleMs` more of this (0: it is not idle, or has no idle timeout). */
  changed(quiet: boolean, idleMs: number): void {
    if (quiet) this.quietWaiters.wakeAllAfter(this.lastCommit);
    this.stopIdle();
    if (idleMs > 0) this.idleTimer = setLongTimeout(() => this.expire(`idle for ${formatMs(idleMs)}`), idleMs);
  }

  stopIdle(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }

  /** The session has ended and nothing of it runs: retired once its last change is durable. */
  retire(): void {
    for (const timer of this.ttlTimers) clearTimeout(timer);
    this.stopIdle();
    this.quietWaiters.wakeAllAfter(this.lastCommit);
    // Stay findable until the last change is durable: a reader arriving now
    // must wait for it rather than read a store that does not hold it yet.
    void this.lastStored.then(() => {
      this.retiredNow = true;
      this.retiredWaiters.wakeAll();
      this.onRetired();
    });
  }
}
