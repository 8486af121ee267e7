import { mkdtempSync, rmSync, statSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SOCKET_PATH_MAX_BYTES } from "../socket.js";

/** How many connected pairs are kept ready: a spawn takes two (stdout, stderr) or three (and stdin). */
const READY_PAIRS = 12;

/** Two connected ends: `ours` stays in the daemon, `theirs` goes to a child as one of its stdio. */
export interface SocketPair {
  readonly ours: Socket;
  readonly theirs: Socket;
}

/**
 * Connected pairs of Unix stream sockets, what Node gives a child as stdio
 * pipes, made ahead so a spawn need not wait for them. Node has no
 * socketpair(), so each pair is one connection to a private listener, in a
 * 0700 directory so that no one else can connect to it; connections
 * are made one at a time, so each accepted end is matched with the end that
 * connected without doubt. The accepted end is never read here
 * (pauseOnConnect): it goes to a child. The daemon reads and writes the other.
 */
export class SocketPairs {
  private readonly ready: SocketPair[] = [];
  private readonly waiting: { resolve: (pair: SocketPair) => void; reject: (error: Error) => void }[] = [];
  private accepted: ((socket: Socket) => void) | undefined;
  private filling = false;
  private closed = false;

  private constructor(
    private readonly server: Server,
    private readonly path: string,
    /** A directory made for the listener (when the state dir's path was too long), removed on close. */
    private readonly ownDir: string | undefined,
  ) {
    server.on("connection", (socket) => {
      const accept = this.accepted;
      this.accepted = undefined;
      if (accept === undefined) socket.destroy();
      else accept(socket);
    });
    void this.fill();
  }

  /**
   * Listens in `privateDir` (the daemon's 0700 state directory, where the one
   * daemon holding the socket lock replaces what a crashed one left), or in a
   * fresh 0700 directory under the temp dir when that path is too long for a
   * Unix socket or others may enter that directory.
   */
  static async open(privateDir: string): Promise<SocketPairs> {
    let path = join(privateDir, "stdio-pairs.sock");
    let ownDir: string | undefined;
    if (Buffer.byteLength(path) > SOCKET_PATH_MAX_BYTES || (statSync(privateDir).mode & 0o077) !== 0) {
      ownDir = mkdtempSync(join(tmpdir(), "tether-stdio-"));
      path = join(ownDir, "pairs.sock");
    }
    rmSync(path, { force: true });
    const server = createServer({ pauseOnConnect: true });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(path, () => resolve());
    });
    return new SocketPairs(server, path, ownDir);
  }

  take(): Promise<SocketPair> {
    if (this.closed) return Promise.reject(new Error("the daemon is stopping: no new processes"));
    const pair = this.ready.shift();
    void this.fill();
    if (pair !== undefined) return Promise.resolve(pair);
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  close(): void {
    this.closed = true;
    this.server.close();
    for (const pair of this.ready.splice(0)) {
      pair.ours.destroy();
      pair.theirs.destroy();
    }
    for (const waiter of this.waiting.splice(0)) waiter.reject(new Error("the daemon is stopping: no new processes"));
    rmSync(this.ownDir ?? this.path, { recursive: true, force: true });
  }

  private async fill(): Promise<void> {
    if (this.filling) return;
    this.filling = true;
    try {
      while (!this.closed && (this.waiting.length > 0 || this.ready.length < READY_PAIRS)) {
        const pair = await this.connectOne();
        const waiter = this.waiting.shift();
        if (waiter !== undefined) waiter.resolve(pair);
        else this.ready.push(pair);
      }
    } catch (error) {
      for (const waiter of this.waiting.splice(0)) waiter.reject(error as Error);
    } finally {
      this.filling = false;
    }
  }

  private connectOne(): Promise<SocketPair> {
    return new Promise((resolve, reject) => {
      let theirs: Socket | undefined;
      let connected = false;
      const ours = connect(this.path);
      const done = (): void => {
        if (theirs === undefined || !connected) return;
        ours.off("error", reject);
        // An error on an end nobody reads yet must not end the daemon; a reader sees errors itself.
        ours.on("error", () => {});
        theirs.on("error", () => {});
        resolve({ ours, theirs });
      };
      this.accepted = (socket) => {
        theirs = socket;
        done();
      };
      ours.once("connect", () => {
        connected = true;
        done();
      });
      ours.once("error", reject);
    });
  }
}
