import { mkdtempSync, rmSync, statSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SOCKET_PATH_MAX_BYTES } from "../socket.js";

/** A connection's first line names its process and fd: "ID:FD\n", a few bytes. Longer means it is not the helper's. */
const HEADER_MAX_BYTES = 32;

/** The daemon's ends of one process's stdio, indexed by fd; undefined where the process has none (stdin closed). */
export type StdioEnds = (Socket | undefined)[];

interface Expected {
  readonly ends: StdioEnds;
  missing: number;
  readonly resolve: (ends: StdioEnds) => void;
  readonly reject: (error: Error) => void;
}

/**
 * Where the process starter connects each process's stdio to the daemon.
 * Node has no socketpair(), and handing sockets to the starter over IPC
 * costs the daemon a message, an acknowledgement and the kernel's in-flight
 * socket accounting per fd; so the starter connects them itself: for each
 * stdio of process ID it connects here, writes "ID:FD\n" and gives the
 * socket to the process. The daemon accepts, reads that line and keeps the
 * socket, whose later bytes are the process's output (or where its stdin
 * goes). The listener is in a 0700 directory, so no one else can connect.
 */
export class StdioListener {
  private readonly expected = new Map<number, Expected>();
  private closed = false;

  private constructor(
    private readonly server: Server,
    /** Where the starter connects. */
    readonly path: string,
    /** A directory made for the listener (when the state dir's path was too long), removed on close. */
    private readonly ownDir: string | undefined,
  ) {
    server.on("connection", (socket) => this.accept(socket));
  }

  /**
   * Listens in `privateDir` (the daemon's 0700 state directory, where the one
   * daemon holding the socket lock replaces what a crashed one left), or in a
   * fresh 0700 directory under the temp dir when that path is too long for a
   * Unix socket or others may enter that directory.
   */
  static async open(privateDir: string): Promise<StdioListener> {
    let path = join(privateDir, "stdio.sock");
    let ownDir: string | undefined;
    if (Buffer.byteLength(path) > SOCKET_PATH_MAX_BYTES || (statSync(privateDir).mode & 0o077) !== 0) {
      ownDir = mkdtempSync(join(tmpdir(), "tether-stdio-"));
      path = join(ownDir, "stdio.sock");
    }
    rmSync(path, { force: true });
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(path, () => resolve());
    });
    return new StdioListener(server, path, ownDir);
  }

  /** Resolves with process `id`'s stdio ends once the starter has connected each fd in `fds`. */
  expect(id: number, fds: readonly (0 | 1 | 2)[]): Promise<StdioEnds> {
    if (this.closed) return Promise.reject(new Error("the daemon is stopping: no new processes"));
    return new Promise((resolve, reject) => this.expected.set(id, { ends: [], missing: fds.length, resolve, reject }));
  }

  /** Process `id` will not connect (the starter failed or went away): its waiter fails and the ends that came are closed. */
  cancel(id: number, error: Error): void {
    const entry = this.expected.get(id);
    if (entry === undefined) return;
    this.expected.delete(id);
    for (const end of entry.ends) end?.destroy();
    entry.reject(error);
  }

  close(): void {
    this.closed = true;
    this.server.close();
    for (const id of [...this.expected.keys()]) this.cancel(id, new Error("the daemon is stopping: no new processes"));
    rmSync(this.ownDir ?? this.path, { recursive: true, force: true });
  }

  private accept(socket: Socket): void {
    // An error on an end nobody reads yet must not end the daemon; a reader sees errors itself.
    socket.on("error", () => {});
    readHeader(socket).then(
      (header) => {
        const match = /^(\d+):([012])$/.exec(header ?? "");
        const entry = match === null ? undefined : this.expected.get(Number(match[1]));
        const fd = Number(match?.[2]);
        if (entry === undefined || entry.ends[fd] !== undefined) return socket.destroy();
        entry.ends[fd] = socket;
        if (--entry.missing > 0) return;
        this.expected.delete(Number(match![1]));
        entry.resolve(entry.ends);
      },
      () => socket.destroy(),
    );
  }
}

/** Reads the first line of `socket` and leaves what follows it unread; undefined when it is not a header. */
function readHeader(socket: Socket): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    let got = Buffer.alloc(0);
    const finish = (header: string | undefined): void => {
      socket.off("readable", onReadable);
      socket.off("end", onEnd);
      socket.off("close", onClose);
      resolve(header);
    };
    const onEnd = (): void => finish(undefined);
    // Made only when it is needed: an Error's stack costs ~50 µs, and every connection closes.
    const onClose = (): void => reject(new Error("closed"));
    const onReadable = (): void => {
      for (let chunk: Buffer | null; (chunk = socket.read() as Buffer | null) !== null; ) {
        got = Buffer.concat([got, chunk]);
        const newline = got.indexOf(10);
        if (newline >= 0 && newline <= HEADER_MAX_BYTES) {
          if (newline + 1 < got.length) socket.unshift(got.subarray(newline + 1));
          return finish(got.subarray(0, newline).toString("latin1"));
        }
        if (got.length > HEADER_MAX_BYTES) return finish(undefined);
      }
    };
    socket.on("readable", onReadable);
    socket.once("end", onEnd);
    socket.once("close", onClose);
  });
}
