/** A request side a test feeds by hand: push() sends, end() half-closes. */
export class RequestQueue<T> implements AsyncIterable<T> {
  // Taken from `head` on: Array#shift copies the whole array each time, which
  // made a 100,000-message push quadratic (the bench measured the queue).
  private queue: T[] = [];
  private head = 0;
  private wake: (() => void) | undefined;
  private ended = false;

  push(request: T): void {
    this.queue.push(request);
    this.wake?.();
  }

  end(): void {
    this.ended = true;
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    for (;;) {
      while (this.head < this.queue.length) {
        const request = this.queue[this.head++]!;
        if (this.head === this.queue.length) {
          this.queue = [];
          this.head = 0;
        }
        yield request;
      }
      if (this.ended) return;
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
  }
}
