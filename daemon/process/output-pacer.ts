/**
 * Paces a process's output to its clients, as a pipe paces its writer to its
 * reader: while even the furthest of them is more than `lagBytes` behind
 * what the process wrote, the daemon stops reading the process (its pipe or
 * terminal fills and its writes block) until one catches up. With no client,
 * nothing paces it.
 *
 * An exec is paced by its own client alone (`maxClients` 1: `tether exec ws
 * -- cmd | less` holds cmd as a pipe would, and the client never falls so far
 * behind that it must read its output back from the store); clients that
 * attach later only watch. A terminal is paced by every attached client, to
 * the furthest (see Ptys): a client reading slower than the program floods
 * keeps its place, as a terminal slows the program it shows, while a client
 * that stops reading holds nothing as long as another reads.
 */
export class OutputPacer {
  private readonly clients = new Set<{ delivered: number }>();
  private waiting: { written: number; readonly resume: () => void }[] = [];
  private closed = false;

  constructor(
    private readonly lagBytes: number,
    private readonly maxClients: number,
  ) {}

  /** A client that paces from now on, having been handed output up to `fromOffset`; undefined when `maxClients` already do. */
  attach(fromOffset: number): PacingClient | undefined {
    if (this.closed || this.clients.size >= this.maxClients) return undefined;
    const client = { delivered: fromOffset };
    this.clients.add(client);
    this.resumeWithin();
    return {
      delivered: (offset) => {
        client.delivered = Math.max(client.delivered, offset);
        this.resumeWithin();
      },
      release: () => {
        this.clients.delete(client);
        this.resumeWithin();
      },
    };
  }

  /** Undefined while output may be read; once `written` bytes are more than the lag ahead of every client, a promise that resolves when one has caught up. */
  hold(written: number): Promise<void> | undefined {
    if (this.within(written)) return undefined;
    return new Promise((resume) => this.waiting.push({ written, resume }));
  }

  /**
   * `bytes` the process wrote will never reach its journal (their commit
   * failed): the bytes after them lie that much earlier than the waits
   * counted, and the clients could never be handed them.
   */
  lost(bytes: number): void {
    for (const wait of this.waiting) wait.written -= bytes;
    this.resumeWithin();
  }

  /**
   * The process has exited: nothing paces the rest of its output (what its
   * pipe or terminal still holds is read at once), so its end is never held
   * by a client that stopped reading.
   */
  close(): void {
    this.closed = true;
    this.resumeWithin();
  }

  /** Whether `written` bytes may be read: no client paces, or one is within the lag of them. */
  private within(written: number): boolean {
    if (this.closed || this.clients.size === 0) return true;
    for (const client of this.clients) if (written - client.delivered <= this.lagBytes) return true;
    return false;
  }

  private resumeWithin(): void {
    const still: typeof this.waiting = [];
    for (const wait of this.waiting) {
      if (this.within(wait.written)) wait.resume();
      else still.push(wait);
    }
    this.waiting = still;
  }
}

export interface PacingClient {
  /** The client has been handed the output up to journal offset `offset`. */
  delivered(offset: number): void;
  /** The client is gone: it paces the process no more. */
  release(): void;
}
