/**
 * Paces a process's output to one client, as a pipe paces its writer to its
 * reader: while the client is more than `lagBytes` behind what the process
 * wrote, the daemon stops reading the process (its pipe fills and its writes
 * block) until the client catches up. An exec's own client paces it (`tether
 * exec ws -- cmd | less` holds cmd as a pipe would, and a client never
 * falls so far behind that it must read its output back from the store);
 * once that client goes away nothing paces it, and clients that attach
 * later only watch.
 */
export class OutputPacer {
  private paced = false;
  private delivered = 0;
  private waiting: { readonly written: number; readonly resume: () => void }[] = [];

  constructor(private readonly lagBytes: number) {}

  /** The client that paces from now on, or undefined when one already does. */
  attach(): PacingClient | undefined {
    if (this.paced) return undefined;
    this.paced = true;
    return {
      delivered: (offset) => {
        this.delivered = Math.max(this.delivered, offset);
        this.resumeWithin();
      },
      release: () => {
        this.paced = false;
        this.resumeWithin();
      },
    };
  }

  /** Undefined while output may be read; once `written` bytes are more than the lag ahead of the client, a promise that resolves when it has caught up. */
  hold(written: number): Promise<void> | undefined {
    if (!this.paced || written - this.delivered <= this.lagBytes) return undefined;
    return new Promise((resume) => this.waiting.push({ written, resume }));
  }

  private resumeWithin(): void {
    const still: typeof this.waiting = [];
    for (const wait of this.waiting) {
      if (!this.paced || wait.written - this.delivered <= this.lagBytes) wait.resume();
      else still.push(wait);
    }
    this.waiting = still;
  }
}

export interface PacingClient {
  /** The client has been handed the output up to journal offset `offset`. */
  delivered(offset: number): void;
  /** The client is gone: nothing paces the process any more. */
  release(): void;
}
