import type { SizePolicy, TerminalSize } from "./types.js";

/** One client attached to a PTY. */
export interface PtyClient {
  readonly id: number;
  readonly readOnly: boolean;
  /** An attached terminal (AttachPty), which another client may detach; false for a reader (ReadPty). */
  readonly attached: boolean;
  /** Aborted to end this client's follow: its output was lost (STORE_FAILED), or another client detached it (PtyDetachedBy). */
  readonly stop: AbortController;
  /** Its terminal's size; undefined when it has none (a script, a read-only watcher). */
  size: TerminalSize | undefined;
  /** When it last attached, typed or resized: the "latest" policy picks the most recent. */
  activeAt: number;
}

/** Why a client's follow ended: another client detached it (tmux attach -d, detach-client). */
export class PtyDetachedBy extends Error {}

/**
 * The clients attached to one PTY and the size they give it: the latest
 * active client's (tmux's "latest"), or the smallest of all, among clients
 * that have a size and may type. With none, the size stays as it is.
 */
export class PtyClients {
  private readonly clients = new Set<PtyClient>();
  private nextId = 1;
  private tick = 0;

  constructor(private readonly policy: SizePolicy) {}

  get count(): number {
    return this.clients.size;
  }

  /** Some client has a terminal that answers the program's queries: one that may type and gave its size (a script and a watcher give none). */
  get answering(): boolean {
    for (const c of this.clients) if (!c.readOnly && c.size !== undefined) return true;
    return false;
  }

  add(readOnly: boolean, attached: boolean, size: TerminalSize | undefined): PtyClient {
    const client = { id: this.nextId++, readOnly, attached, stop: new AbortController(), size, activeAt: ++this.tick };
    this.clients.add(client);
    return client;
  }

  /** Detaches every attached client but `except` (readers read on): each is no longer counted, and its follow ends with `reason`. How many. */
  detachAttached(except: PtyClient | undefined, reason: string): number {
    let detached = 0;
    for (const c of this.clients) {
      if (c === except || !c.attached) continue;
      this.clients.delete(c);
      c.stop.abort(new PtyDetachedBy(reason));
      detached++;
    }
    return detached;
  }

  /** Ends every client's follow with `error` (their output was lost). */
  stopAll(error: Error | undefined): void {
    for (const c of this.clients) c.stop.abort(error);
  }

  remove(client: PtyClient): void {
    this.clients.delete(client);
  }

  touch(client: PtyClient): void {
    client.activeAt = ++this.tick;
  }

  /** The size the policy gives, or undefined when no client has a say. */
  size(): TerminalSize | undefined {
    const sized = [...this.clients].filter((c) => !c.readOnly && c.size !== undefined);
    if (sized.length === 0) return undefined;
    if (this.policy === "smallest") {
      return { cols: Math.min(...sized.map((c) => c.size!.cols)), rows: Math.min(...sized.map((c) => c.size!.rows)) };
    }
    return sized.reduce((a, b) => (b.activeAt > a.activeAt ? b : a)).size;
  }
}
