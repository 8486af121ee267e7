interface Entry<T, R> {
  readonly item: T;
  readonly bytes: number;
  readonly resolve: (r: R) => void;
  readonly reject: (e: unknown) => void;
}

/**
 * Batches work from many producers into few synchronous transactions.
 *
 * Items submitted during one turn of the event loop are committed together on
 * the next setImmediate, so N concurrent appends cost one fsync instead of N.
 * `run` executes one transaction for a batch and returns one result per item;
 * if it throws, the whole batch failed and every item's promise rejects:
 * nothing was acknowledged.
 *
 * `prepare`, when given, may start asynchronous work a batch needs before its
 * transaction (writing process output to files off the daemon's thread) and
 * return its promise: the batch runs once it resolves (`prepared` true), and
 * items submitted meanwhile wait to form the next batch, so batches still
 * commit one at a time and in order. A batch whose preparation failed
 * rejects. `flush` (shutdown) does not wait: it runs a batch still preparing
 * and every later one at once with `prepared` false, so `run` must then do
 * the work itself, and must tolerate the preparation finishing later.
 */
export class GroupCommit<T, R> {
  private pending: Entry<T, R>[] = [];
  private scheduled: NodeJS.Immediate | undefined;
  private preparing: Entry<T, R>[] | undefined;
  /** A drain is under way: it takes what is submitted meanwhile. */
  private draining = false;

  constructor(
    private readonly run: (items: T[], prepared: boolean) => R[],
    private readonly maxBatchBytes: number,
    private readonly prepare: (items: T[]) => Promise<void> | undefined = () => undefined,
  ) {}

  submit(item: T, bytes: number): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.pending.push({ item, bytes, resolve, reject });
      if (!this.draining) {
        this.scheduled ??= setImmediate(() => {
          this.scheduled = undefined;
          void this.drain();
        });
      }
    });
  }

  /** Commits everything pending now, without waiting for any preparation (used on shutdown). */
  flush(): void {
    const preparing = this.preparing;
    this.preparing = undefined;
    if (preparing !== undefined) this.commit(preparing, false);
    while (this.pending.length > 0) this.commit(this.take(), false);
  }

  get idle(): boolean {
    return this.pending.length === 0 && this.preparing === undefined;
  }

  /** Commits pending batches in order, each after its preparation. */
  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    // The finally runs in the same turn as the last commit, before any producer it woke can submit again.
    try {
      while (this.pending.length > 0) {
        const batch = this.take();
        let preparation: Promise<void> | undefined;
        try {
          preparation = this.prepare(batch.map((e) => e.item));
        } catch (error) {
          for (const e of batch) e.reject(error);
          continue;
        }
        if (preparation === undefined) {
          this.commit(batch, false);
          continue;
        }
        this.preparing = batch;
        const failed = await preparation.then(
          () => undefined,
          (error: unknown) => ({ error }),
        );
        // flush() committed it meanwhile.
        if (this.preparing !== batch) continue;
        this.preparing = undefined;
        if (failed !== undefined) for (const e of batch) e.reject(failed.error);
        else this.commit(batch, true);
      }
    } finally {
      this.draining = false;
    }
  }

  /** The next batch: at most maxBatchBytes (at least one item). */
  private take(): Entry<T, R>[] {
    let bytes = 0;
    let count = 0;
    while (count < this.pending.length && (count === 0 || bytes + this.pending[count]!.bytes <= this.maxBatchBytes)) {
      bytes += this.pending[count]!.bytes;
      count++;
    }
    return this.pending.splice(0, count);
  }

  private commit(batch: Entry<T, R>[], prepared: boolean): void {
    let results: R[];
    try {
      results = this.run(
        batch.map((e) => e.item),
        prepared,
      );
    } catch (error) {
      for (const e of batch) e.reject(error);
      return;
    }
    batch.forEach((e, i) => e.resolve(results[i] as R));
  }
}
