/**
 * Merges a pulled source (stdin, read only as fast as the call takes it) with
 * pushed control messages (signals, resizes), in arrival order. Ends when
 * `end()` is called; the source ending only runs `onSourceEnd`.
 */
export class RequestMerge<T> implements AsyncIterable<T> {
  private readonly control: T[] = [];
  private wake: (() => void) | undefined;
  private ended = false;

  constructor(
    private readonly source: AsyncIterator<T> | undefined,
    private readonly onSourceEnd: () => T | undefined,
  ) {}

  push(message: T): void {
    this.control.push(message);
    this.notify();
  }

  end(): void {
    this.ended = true;
    this.notify();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    let pulled: Promise<IteratorResult<T>> | undefined;
    let sourceDone = this.source === undefined;
    let result: IteratorResult<T> | undefined;
    for (;;) {
      while (this.control.length > 0) yield this.control.shift()!;
      if (this.ended) return;
      if (result !== undefined) {
        const r = result;
        result = undefined;
        if (r.done === true) {
          sourceDone = true;
          const last = this.onSourceEnd();
          if (last !== undefined) yield last;
        } else {
          yield r.value;
        }
        continue;
      }
      if (!sourceDone && pulled === undefined) {
        pulled = this.source!.next();
        void pulled.then(
          (r) => {
            pulled = undefined;
            result = r;
            this.notify();
          },
          () => {
            pulled = undefined;
            result = { done: true, value: undefined };
            this.notify();
          },
        );
      }
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
