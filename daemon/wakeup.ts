/** Wakes one waiting reader: `wait` resolves on the next `notify` (or after its timeout), or rejects when its signal aborts. */
export class Wakeup {
  private wake: (() => void) | undefined;

  notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  wait(signal: AbortSignal, timeoutMs?: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      const onAbort = (): void => {
        clearTimeout(timer);
        if (this.wake === wake) this.wake = undefined;
        reject(signal.reason);
      };
      const wake = (): void => {
        if (this.wake === wake) this.wake = undefined;
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
        resolve();
      };
      const timer = timeoutMs === undefined ? undefined : setTimeout(wake, timeoutMs);
      signal.addEventListener("abort", onAbort, { once: true });
      this.wake = wake;
    });
  }
}

/**
 * A Wakeup whose waits all end with one signal: its abort listener is added
 * once, not on every wait (adding and removing one cost a keystroke's echo
 * microseconds). close() removes it; waiting after close() is a bug.
 */
export class BoundWakeup {
  private waiter: { readonly resolve: () => void; readonly reject: (reason: unknown) => void } | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly signal: AbortSignal) {
    signal.addEventListener("abort", this.onAbort, { once: true });
  }

  notify(): void {
    const waiter = this.waiter;
    if (waiter === undefined) return;
    this.waiter = undefined;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    waiter.resolve();
  }

  /** Resolves on the next notify (or after `timeoutMs`); rejects with the signal's reason when it aborts. */
  wait(timeoutMs?: number): Promise<void> {
    if (this.signal.aborted) return Promise.reject(this.signal.reason);
    return new Promise<void>((resolve, reject) => {
      this.waiter = { resolve, reject };
      if (timeoutMs !== undefined) this.timer = setTimeout(() => this.notify(), timeoutMs);
    });
  }

  close(): void {
    this.signal.removeEventListener("abort", this.onAbort);
  }

  private readonly onAbort = (): void => {
    const waiter = this.waiter;
    this.waiter = undefined;
    clearTimeout(this.timer);
    waiter?.reject(this.signal.reason);
  };
}
