interface Entry<T, R> {
  readonly item: T;
  readonly bytes: number;
  readonly resolve: (r: R) => void;
  readonly reject: (e: unknown) => void;
}

/** A batch taken, in order: its preparation's outcome once settled, and whether there was one. */
interface Taken<T, R> {
  readonly batch: Entry<T, R>[];
  readonly prepared: boolean;
  readonly done: Promise<{ readonly error: unknown } | undefined>;
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
 * return its promise: the batch runs once it resolves (`prepared` true).
 * Up to `preparedAhead` batches prepare at once (the disk takes the next
 * batch's bytes while the last one's transaction runs), each told the items
 * of the batches before it that are not committed yet; batches still commit
 * one at a time and in order. A batch whose preparation failed rejects, and
 * so do the ones prepared after it (their preparation counted on it), once
 * their preparations have settled. `flush` (shutdown) does not wait: it runs
 * the batches still preparing and every later one at once with `prepared`
 * false, so `run` must then do the work itself, and must tolerate the
 * preparations finishing later.
 */
export class GroupCommit<T, R> {
  private pending: Entry<T, R>[] = [];
  private scheduled: NodeJS.Immediate | undefined;
  private preparing: Taken<T, R>[] = [];
  /** A drain is under way: it takes what is submitted meanwhile. */
  private draining = false;
  /** Batches are being failed after one that failed: none starts preparing. */
  private failing = false;

  constructor(
    private readonly run: (items: T[], prepared: boolean) => R[],
    private readonly maxBatchBytes: number,
    private readonly prepare: (items: T[], ahead: readonly T[][]) => Promise<void> | undefined = () => undefined,
    private readonly preparedAhead = 1,
  ) {}

  /** `streaming`: the item carries process output (see streamingEntry). */
  submit(item: T, bytes: number, streaming = false): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.pending.push(streaming ? streamingEntry(item, bytes, resolve, reject) : { item, bytes, resolve, reject });
      // A drain under way takes it once the batches ahead are committed, or starts preparing it now if there is room.
      this.scheduled ??= setImmediate(() => {
        this.scheduled = undefined;
        if (this.draining) this.startPreparing();
        else void this.drain();
      });
    });
  }

  /** Commits everything pending now, without waiting for any preparation (used on shutdown). */
  flush(): void {
    const preparing = this.preparing;
    this.preparing = [];
    for (const taken of preparing) this.commit(taken.batch, false);
    while (this.pending.length > 0) this.commit(this.take(), false);
  }

  get idle(): boolean {
    return this.pending.length === 0 && this.preparing.length === 0;
  }

  /** Resolves once nothing is pending or preparing, what is submitted meanwhile included (a shutdown waits for it before flush). */
  async whenIdle(): Promise<void> {
    while (!this.idle) await (this.preparing[0]?.done ?? new Promise<void>((resolve) => setImmediate(resolve)));
  }

  /** Commits batches in order, each after its preparation, preparing the next ones meanwhile. */
  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    // The finally runs in the same turn as the last commit, before any producer it woke can submit again.
    try {
      for (;;) {
        this.startPreparing();
        const head = this.preparing[0];
        if (head === undefined) return;
        const prepareFailed = await head.done;
        // flush() committed it meanwhile.
        if (this.preparing[0] !== head) continue;
        this.preparing.shift();
        const failed = prepareFailed ?? this.commit(head.batch, head.prepared);
        if (failed === undefined) continue;
        if (prepareFailed !== undefined) for (const e of head.batch) e.reject(failed.error);
        // The batches prepared after it counted on its items: they fail too, once nothing of theirs is still under way (and none starts meanwhile).
        const failing = this.preparing;
        this.failing = true;
        try {
          await Promise.all(failing.map((taken) => taken.done));
        } finally {
          this.failing = false;
        }
        if (this.preparing !== failing) continue;
        this.preparing = [];
        for (const taken of failing) for (const e of taken.batch) e.reject(failed.error);
      }
    } finally {
      this.draining = false;
    }
  }

  /** Takes pending batches while fewer than preparedAhead prepare; one that needs no preparation, with none ahead of it, commits at once. */
  private startPreparing(): void {
    while (!this.failing && this.pending.length > 0 && this.preparing.length < this.preparedAhead) {
      const batch = this.take();
      let preparation: Promise<void> | undefined;
      try {
        preparation = this.prepare(
          batch.map((e) => e.item),
          this.preparing.map((taken) => taken.batch.map((e) => e.item)),
        );
      } catch (error) {
        for (const e of batch) e.reject(error);
        continue;
      }
      if (preparation === undefined && this.preparing.length === 0) {
        this.commit(batch, false);
        continue;
      }
      const done = (preparation ?? Promise.resolve()).then(
        () => undefined,
        (error: unknown) => ({ error }),
      );
      this.preparing.push({ batch, prepared: preparation !== undefined, done });
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

  /** Runs the batch's transaction and settles its items; what failed it, if it failed. */
  private commit(batch: Entry<T, R>[], prepared: boolean): { readonly error: unknown } | undefined {
    let results: R[];
    try {
      results = this.run(
        batch.map((e) => e.item),
        prepared,
      );
    } catch (error) {
      for (const e of batch) e.reject(error);
      return { error };
    }
    batch.forEach((e, i) => e.resolve(results[i] as R));
    return undefined;
  }
}

/**
 * The entry of an item that carries process output, made at an allocation
 * site of its own. V8 decides per allocation site (each object literal in the
 * source) whether its objects are born in the old generation ("pretenuring"),
 * from how many of them outlived the young one. The entries of a task graph's
 * many small appends wait for their commits long enough to teach a shared site
 * that; an exec's entries, born old from then on, each kept the 1 MiB output
 * regions it reached alive past every scavenge until a full collection, and V8
 * runs one every 64 MB of such memory: on a daemon that had run task graphs,
 * 55-110 full collections per 3 GiB of exec output and ~0.8 s more CPU per GiB
 * (bench/NOTES.md). Output's own sites stay young: its entries die young.
 */
function streamingEntry<T, R>(item: T, bytes: number, resolve: (r: R) => void, reject: (e: unknown) => void): Entry<T, R> {
  return { item, bytes, resolve, reject };
}
