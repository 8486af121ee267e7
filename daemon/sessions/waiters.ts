/**
 * Callers waiting for something to happen: each wait resolves when woken,
 * or when its AbortSignal aborts (the caller then checks what happened).
 */
export class Waiters {
  private readonly waiting = new Set<() => void>();

  wait(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted === true) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.waiting.delete(done);
        signal?.removeEventListener("abort", done);
        resolve();
      };
      this.waiting.add(done);
      signal?.addEventListener("abort", done, { once: true });
    });
  }

  wakeAll(): void {
    for (const wake of [...this.waiting]) wake();
  }

  /** Wakes those waiting now (not those who start waiting later) once `after` settles. */
  wakeAllAfter(after: Promise<unknown>): void {
    const waiting = [...this.waiting];
    void after.then(() => {
      for (const wake of waiting) wake();
    });
  }
}
