import { writeSync } from "node:fs";

/** While the terminal takes no more input (its input queue is full: the program does not read), the rest is tried again this often. */
const RETRY_MS = 2;
/** Input waiting for the terminal above this many bytes holds back its senders (see write). */
export const TERMINAL_INPUT_WAITING_MAX_BYTES = 1024 * 1024;

/**
 * Writes a client's input to a terminal's master side, in order, on the
 * daemon's thread. node-pty writes through libuv's thread pool, which puts
 * a hand-off to a pool thread and a wake-up back on every keystroke's path
 * (two wake-ups of idle threads, each up to a few hundred µs on a quiet
 * machine); the master is non-blocking (node-pty makes it so), so a write
 * here takes what the terminal has room for at once and never blocks. What
 * it cannot take yet waits here, in order, and is tried again every
 * RETRY_MS until it fits (node-pty retries at once, in a loop that holds a
 * core while a program ignores a long paste), and once more than
 * TERMINAL_INPUT_WAITING_MAX_BYTES waits, `write` returns a promise that a
 * sender awaits before it takes its next input: a client pasting into a
 * program that never reads is held back by HTTP/2 flow control instead of
 * growing the daemon's memory. Once the terminal is gone (EIO), what waits
 * is dropped: the program will never read it.
 */
export class TerminalInput {
  private readonly waiting: Buffer[] = [];
  private waitingBytes = 0;
  private retry: NodeJS.Timeout | undefined;
  private closed = false;
  /** Senders held back until the input waiting is below the bound again. */
  private room: (() => void)[] = [];

  constructor(private readonly fd: number) {}

  /** Undefined when the sender may go on; a promise to await first when too much input waits. */
  write(data: Uint8Array): Promise<void> | undefined {
    if (this.closed || data.byteLength === 0) return undefined;
    if (this.waiting.length > 0) {
      // Copied: the caller's buffer may be reused once this returns.
      this.wait(Buffer.from(data));
    } else {
      const taken = this.take(data);
      if (taken < data.byteLength) this.wait(Buffer.from(data.subarray(taken)));
    }
    return this.whenRoom();
  }

  /** Undefined while at most TERMINAL_INPUT_WAITING_MAX_BYTES wait; else a promise that resolves once no more do (or the terminal is gone). */
  whenRoom(): Promise<void> | undefined {
    return this.waitingBytes > TERMINAL_INPUT_WAITING_MAX_BYTES ? new Promise((resolve) => this.room.push(resolve)) : undefined;
  }

  /** True while input waits for room in the terminal. */
  get waitingInput(): boolean {
    return this.waiting.length > 0;
  }

  /** Drops what waits and writes nothing more (the program has exited). */
  close(): void {
    this.closed = true;
    this.waiting.length = 0;
    this.waitingBytes = 0;
    clearTimeout(this.retry);
    this.release();
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
    this.waitingBytes += rest.byteLength;
    this.retry ??= setTimeout(() => this.flush(), RETRY_MS);
  }

  private flush(): void {
    this.retry = undefined;
    while (this.waiting.length > 0) {
      const head = this.waiting[0]!;
      const taken = this.take(head);
      if (this.closed) return;
      this.waitingBytes -= taken;
      if (taken < head.byteLength) {
        this.waiting[0] = head.subarray(taken);
        this.retry = setTimeout(() => this.flush(), RETRY_MS);
        break;
      }
      this.waiting.shift();
    }
    if (this.waitingBytes <= TERMINAL_INPUT_WAITING_MAX_BYTES) this.release();
  }

  private release(): void {
    const held = this.room;
    this.room = [];
    for (const resume of held) resume();
  }
}
