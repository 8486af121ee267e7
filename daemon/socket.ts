import { Code } from "@connectrpc/connect";
import { createHash } from "node:crypto";
import { chmodSync, lstatSync, mkdirSync, statSync, unlinkSync } from "node:fs";
import { connect, createServer, type Server } from "node:net";
import { dirname } from "node:path";
import { TetherError } from "./errors.js";

/** sun_path holds 108 bytes on Linux, including the terminating NUL. */
export const SOCKET_PATH_MAX_BYTES = 107;

/** How long to wait for an existing socket to answer before calling it stale. */
const STALE_PROBE_TIMEOUT_MS = 1_000;

/**
 * Checks the socket path and its directory, takes the one-daemon-per-socket
 * lock, and clears a stale socket file. Returns the lock, which the daemon
 * holds until it exits.
 *
 * The lock is a Linux abstract-namespace socket named after the socket path:
 * binding it is atomic, and the kernel releases it when the process dies, even
 * by SIGKILL, so a crashed daemon never leaves a lock behind.
 *
 * Directory permissions: tether creates the directory 0700 when it is
 * missing. It never changes the mode of an existing directory (that might be
 * /tmp); an existing directory that other users can enter is refused, as tmux
 * refuses an unsafe socket directory.
 */
export async function claimSocket(socketPath: string): Promise<Server> {
  checkSocketPath(socketPath, "TETHER_SOCKET", "TETHER_SOCKET to a shorter path");
  ensurePrivateDir(dirname(socketPath));
  const lock = await takeLock(socketPath);
  try {
    await removeIfStale(socketPath);
  } catch (error) {
    lock.close();
    throw error;
  }
  return lock;
}

/** Refuses a socket path longer than sun_path holds, naming the variable (`field`) that sets it and what to do (`fix`). */
export function checkSocketPath(socketPath: string, field: string, fix: string): void {
  if (Buffer.byteLength(socketPath) > SOCKET_PATH_MAX_BYTES) {
    throw new TetherError(
      Code.InvalidArgument,
      "INVALID_ARGUMENT",
      `the socket path ${socketPath} is ${Buffer.byteLength(socketPath)} bytes, longer than a Unix socket allows (${SOCKET_PATH_MAX_BYTES}): set ${fix}`,
      { field },
    );
  }
}

/** Creates `dir` 0700 if missing; refuses an existing one that is not private to this user. */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const stat = statSync(dir);
  const uid = process.getuid?.() ?? stat.uid;
  if (!stat.isDirectory()) {
    throw new TetherError(Code.FailedPrecondition, "INVALID_ARGUMENT", `${dir} is not a directory: set TETHER_SOCKET to a path inside a private directory`);
  }
  if (stat.uid !== uid || (stat.mode & 0o077) !== 0) {
    throw new TetherError(
      Code.FailedPrecondition,
      "INVALID_ARGUMENT",
      `the socket directory ${dir} is open to other users (mode ${(stat.mode & 0o777).toString(8)}, owner ${stat.uid}): run chmod 700 ${dir}, or set TETHER_SOCKET to a path inside a directory only you can enter`,
      { path: dir },
    );
  }
}

/** Starts listening on the socket with mode 0600. */
export function listenOnSocket(server: Server, socketPath: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const previous = process.umask(0o177);
    server.once("error", reject);
    server.listen(socketPath, () => {
      process.umask(previous);
      server.off("error", reject);
      chmodSync(socketPath, 0o600);
      resolve();
    });
  });
}

/**
 * The lock is also how a daemon that finds it taken reaches the daemon that
 * holds it: a connection to the lock asks the holder to listen on its socket
 * path again if the file is gone (`onLockCall`), and the holder closes the
 * connection once it has looked. So when a client finds no socket and starts
 * a daemon while one runs without its file, the running one serves again.
 */
function takeLock(socketPath: string): Promise<Server> {
  const name = lockName(socketPath);
  const lock = createServer((call) => call.destroy());
  return new Promise((resolve, reject) => {
    lock.once("error", (error: NodeJS.ErrnoException) => {
      if (error.code !== "EADDRINUSE") return reject(error);
      const taken = new TetherError(
        Code.FailedPrecondition,
        "INVALID_ARGUMENT",
        `another tether daemon already serves ${socketPath}: use it, or stop it first with tether daemon stop`,
        { path: socketPath },
      );
      void callLockHolder(name).then(() => reject(taken));
    });
    lock.listen(name, () => resolve(lock));
  });
}

/** Runs `restore` for each connection to the lock (see takeLock), closing the connection after it. */
export function onLockCall(lock: Server, restore: () => Promise<unknown>): void {
  lock.removeAllListeners("connection");
  lock.on("connection", (call) => {
    call.on("error", () => {});
    void restore()
      .catch(() => undefined)
      .finally(() => call.end());
  });
}

function lockName(socketPath: string): string {
  return `\0tether-lock-${createHash("sha256").update(socketPath).digest("hex").slice(0, 32)}`;
}

/** Connects to the lock's holder and waits until it closes the connection (or a second passes). */
function callLockHolder(name: string): Promise<void> {
  return new Promise((resolve) => {
    const call = connect(name);
    const done = (): void => {
      clearTimeout(timer);
      call.destroy();
      resolve();
    };
    const timer = setTimeout(done, STALE_PROBE_TIMEOUT_MS);
    call.on("error", done);
    call.on("close", done);
    call.resume();
  });
}

async function removeIfStale(socketPath: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(socketPath).isSocket();
  } catch {
    return;
  }
  if (!isSocket) {
    throw new TetherError(
      Code.FailedPrecondition,
      "INVALID_ARGUMENT",
      `${socketPath} exists and is not a socket: remove it, or set TETHER_SOCKET to another path`,
      { path: socketPath },
    );
  }
  if (await answers(socketPath)) {
    throw new TetherError(
      Code.FailedPrecondition,
      "INVALID_ARGUMENT",
      `a process that does not hold tether's lock is listening on ${socketPath}: stop it, or set TETHER_SOCKET to another path`,
      { path: socketPath },
    );
  }
  unlinkSync(socketPath);
}

function answers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect(socketPath);
    const timer = setTimeout(() => {
      probe.destroy();
      resolve(true);
    }, STALE_PROBE_TIMEOUT_MS);
    probe.once("connect", () => {
      clearTimeout(timer);
      probe.destroy();
      resolve(true);
    });
    probe.once("error", () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}
