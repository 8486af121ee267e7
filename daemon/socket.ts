import { Code } from "@connectrpc/connect";
import { chmodSync, lstatSync, mkdirSync, statSync, unlinkSync } from "node:fs";
import { connect, type Server } from "node:net";
import { dirname } from "node:path";
import { TetherError } from "./errors.js";
import { SocketLock } from "./socket-lock.js";

/** sun_path holds 108 bytes on Linux, including the terminating NUL. */
export const SOCKET_PATH_MAX_BYTES = 107;

/** How long to wait for an existing socket to answer before calling it stale. */
const STALE_PROBE_TIMEOUT_MS = 1_000;

/**
 * Checks the socket path and its directory, takes the one-daemon-per-socket
 * lock (socket-lock.ts), and clears a stale socket file. Returns the lock,
 * which the daemon holds until it exits.
 *
 * Directory permissions: tether creates the directory 0700 when it is
 * missing. It never changes the mode of an existing directory (that might be
 * /tmp); an existing directory that other users can enter is refused, as tmux
 * refuses an unsafe socket directory.
 */
export async function claimSocket(socketPath: string): Promise<SocketLock> {
  checkSocketPath(socketPath, "TETHER_SOCKET", "TETHER_SOCKET to a shorter path");
  ensurePrivateDir(dirname(socketPath));
  const lock = await SocketLock.take(socketPath);
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
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    // Most often XDG_RUNTIME_DIR kept from another user by su, which leaves the environment as it was.
    throw new TetherError(
      Code.FailedPrecondition,
      "INVALID_ARGUMENT",
      `cannot create the socket directory ${dir}: ${(error as Error).message}; if XDG_RUNTIME_DIR (${process.env["XDG_RUNTIME_DIR"] ?? "unset"}) is another user's (su keeps it: use su - or log in as yourself), unset it, or set TETHER_SOCKET to a path inside a directory of yours`,
      { path: dir },
    );
  }
  const stat = statSync(dir);
  const uid = process.getuid?.() ?? stat.uid;
  if (!stat.isDirectory()) {
    throw new TetherError(Code.FailedPrecondition, "INVALID_ARGUMENT", `${dir} is not a directory: set TETHER_SOCKET to a path inside a private directory`);
  }
  if (stat.uid !== uid) {
    throw new TetherError(
      Code.FailedPrecondition,
      "INVALID_ARGUMENT",
      `the socket directory ${dir} belongs to another user (uid ${stat.uid}; you are ${uid}), whose daemon this cannot be: each user runs a daemon of their own, so set TETHER_SOCKET to a path inside a directory of yours (or unset it)`,
      { path: dir },
    );
  }
  if ((stat.mode & 0o077) !== 0) {
    throw new TetherError(
      Code.FailedPrecondition,
      "INVALID_ARGUMENT",
      `the socket directory ${dir} is open to other users (mode ${(stat.mode & 0o777).toString(8)}): run chmod 700 ${dir}, or set TETHER_SOCKET to a path inside a directory only you can enter`,
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
