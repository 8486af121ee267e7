/**
 * Batches work from many producers into few synchronous transactions.
 *
 * Items submitted during one turn of the event loop are committed together on
 * the next setImmediate, so N concurrent appends cost one fsync instead of N.
 * `run` executes one transaction for a batch and returns one result per item;
 * if it throws, the whole batch failed and every item's promise rejects:
 * nothing was acknowledged.
 */
export class GroupCommit<T, R> {
  private pending: { item: T; bytes: number; resolve: (r: R) => void; reject: (e: unknown) => void }[] = [];
  private scheduled: NodeJS.Immediate | undefined;

  constructor(
    private readonly run: (items: T[]) => R[],
    private readonly maxBatchBytes: number,
  ) {}

  submit(item: T, bytes: number): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.pending.push({ item, bytes, resolve, reject });
      this.scheduled ??= setImmediate(() => {
        this.scheduled = undefined;
        this.flush();
      });
    });
  }

  /** Commits everything pending now, in batches of at most maxBatchBytes (at least one item each). */
  flush(): void {
    while (this.pending.length > 0) {
      let bytes = 0;
      let count = 0;
      while (count < this.pending.length && (count === 0 || bytes + this.pending[count]!.bytes <= this.maxBatchBytes)) {
        bytes += this.pending[count]!.bytes;
        count++;
      }
      const batch = this.pending.splice(0, count);
      let results: R[];
      try {
        results = this.run(batch.map((p) => p.item));
      } catch (error) {
        for (const p of batch) p.reject(error);
        continue;
      }
      batch.forEach((p, i) => p.resolve(results[i] as R));
    }
  }

  get idle(): boolean {
    return this.pending.length === 0;
  }
}
