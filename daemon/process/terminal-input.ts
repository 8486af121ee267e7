import { writeSync } from "node:fs";

/** While the terminal takes no more input (its input queue is full: the program does not read), the rest is tried again this often. */
const RETRY_MS = 2;

/**
 * Writes a client's input to a terminal's master side, in order, on the
 * daemon's thread. node-pty writes through libuv's thread pool, which puts
 * a hand-off to a pool thread and a wake-up back on every keystroke's path
 * (two wake-ups of idle threads, each up to a few hundred µs on a quiet
 * machine); the master is non-blocking (node-pty makes it so), so a write
 * here takes what the terminal has room for at once and never blocks. What
 * it cannot take yet waits here, in order, and is tried again every
 * RETRY_MS until it fits (node-pty retries at once, in a loop that holds a
 * core while a program ignores a long paste). Once the terminal is gone
 * (EIO), what waits is dropped: the program will never read it.
 */
export class TerminalInput {
  private readonly waiting: Buffer[] = [];
  private retry: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly fd: number) {}

  write(data: Uint8Array): void {
    if (this.closed || data.byteLength === 0) return;
    if (this.waiting.length > 0) {
      // Copied: the caller's buffer may be reused once this returns.
      this.waiting.push(Buffer.from(data));
      return;
    }
    const taken = this.take(data);
    if (taken < data.byteLength) this.wait(Buffer.from(data.subarray(taken)));
  }

  /** Drops what waits and writes nothing more (the program has exited). */
  close(): void {
    this.closed = true;
    this.waiting.length = 0;
    clearTimeout(this.retry);
  }

  /** Writes as much of `data` as the terminal takes now; how many bytes. */
  private take(data: Uint8Array): number {
    let taken = 0;
    while (taken < data.byteLength) {
      try {
        taken += writeSync(this.fd, data, taken, data.byteLength - taken);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EAGAIN") this.close();
        break;
      }
    }
    return this.closed ? data.byteLength : taken;
  }

  private wait(rest: Buffer): void {
    this.waiting.push(rest);
    this.retry ??= setTimeout(() => this.flush(), RETRY_MS);
  }

  private flush(): void {
    this.retry = undefined;
    while (this.waiting.length > 0) {
      const head = this.waiting[0]!;
      const taken = this.take(head);
      if (taken < head.byteLength) {
        this.waiting[0] = head.subarray(taken);
        this.retry = setTimeout(() => this.flush(), RETRY_MS);
        return;
      }
      this.waiting.shift();
    }
  }
}
