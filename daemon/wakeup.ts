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
