import { Code } from "@connectrpc/connect";
import { createHash } from "node:crypto";
import { connect, createServer, type Server, type Socket } from "node:net";
import { TetherError } from "./errors.js";

/**
 * How long a daemon that finds the lock taken waits for its holder to serve
 * before it gives up: the holder may be starting (opening the store, taking
 * up open sessions, starting --no-network workspaces' networks), and the
 * command that started this daemon waits for whichever daemon answers (15 s).
 */
const HOLDER_WAIT_MS = 10_000;

/**
 * One daemon per socket: a Linux abstract-namespace socket named after the
 * socket path. Binding it is atomic, and the kernel releases it when the
 * process dies, even by SIGKILL, so a crashed daemon never leaves one behind.
 *
 * The lock is also how a daemon that finds it taken reaches the daemon that
 * holds it. A connection to the lock is held until the holder serves
 * (`serve`), then asks it to listen on its socket path again if the file is
 * gone, and is closed once the holder has looked. So a daemon started while
 * another is starting (commands run at once with no daemon) exits only once
 * that one answers, and its command finds it; a daemon started while one runs
 * without its socket file makes the running one serve again; and one started
 * while the holder stops, or dies, takes the lock once it is free.
 */
export class SocketLock {
  private readonly held = new Set<Socket>();
  private restore: (() => Promise<unknown>) | undefined;

  private constructor(private readonly server: Server) {
    server.on("connection", (call) => {
      call.on("error", () => {});
      if (this.restore === undefined) {
        this.held.add(call);
        call.once("close", () => this.held.delete(call));
      } else this.answer(call, this.restore);
    });
  }

  /** Takes the lock of `socketPath`; when another daemon holds it, waits for that one to serve (or to end, then takes it) and rejects. */
  static async take(socketPath: string): Promise<SocketLock> {
    const name = lockName(socketPath);
    const lock = await listen(name);
    if (lock !== undefined) return new SocketLock(lock);
    const answered = await callHolder(name);
    const after = await listen(name);
    if (after !== undefined) return new SocketLock(after);
    throw new TetherError(
      Code.FailedPrecondition,
      "INVALID_ARGUMENT",
      answered
        ? `another tether daemon already serves ${socketPath}: use it, or stop it first with tether daemon stop`
        : `another tether daemon holds ${socketPath} but did not serve it within ${HOLDER_WAIT_MS / 1000}s (stopped, or stuck): kill it (its pid is on its log's last "serving" line), then run the command again`,
      { path: socketPath },
    );
  }

  /** The daemon serves: runs `restore` for each call to the lock, those held meanwhile first, and closes the call after it. */
  serve(restore: () => Promise<unknown>): void {
    this.restore = restore;
    for (const call of this.held) this.answer(call, restore);
    this.held.clear();
  }

  /** The daemon stops: calls from now on are held until it lets the lock go (close), so a daemon started meanwhile takes it then. */
  stopServing(): void {
    this.restore = undefined;
  }

  close(): void {
    // Closing the server frees the name at once; the calls closed after it find it free.
    this.server.close();
    for (const call of this.held) call.destroy();
    this.held.clear();
  }

  private answer(call: Socket, restore: () => Promise<unknown>): void {
    void restore()
      .catch(() => undefined)
      .finally(() => call.end());
  }
}

function lockName(socketPath: string): string {
  return `\0tether-lock-${createHash("sha256").update(socketPath).digest("hex").slice(0, 32)}`;
}

/** Binds the lock `name`: the server, or undefined when another process holds it. */
function listen(name: string): Promise<Server | undefined> {
  const server = createServer();
  return new Promise((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) => (error.code === "EADDRINUSE" ? resolve(undefined) : reject(error)));
    server.listen(name, () => resolve(server));
  });
}

/** Connects to the lock's holder and waits until it closes the call: true once it has, false after HOLDER_WAIT_MS. */
function callHolder(name: string): Promise<boolean> {
  return new Promise((resolve) => {
    const call = connect(name);
    const done = (answered: boolean): void => {
      clearTimeout(timer);
      call.destroy();
      resolve(answered);
    };
    const timer = setTimeout(() => done(false), HOLDER_WAIT_MS);
    call.on("error", () => done(true));
    call.on("close", () => done(true));
    call.resume();
  });
}
