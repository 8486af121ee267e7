import { closeSync, openSync, readSync, statSync } from "node:fs";
import { once } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import { CliError } from "../cli-error.js";
import { parseCommandLine } from "../command-line.js";
import { parseTailFlag } from "../flags.js";
import type { ClientPaths } from "../paths.js";

/** How often `daemon logs -f` looks for more of the log. */
const FOLLOW_POLL_MS = 250;
/** How much of the log is read at a time. */
const READ_BYTES = 64 * 1024;
/** How far back `--tail` looks for its lines. */
const TAIL_WINDOW_BYTES = 1024 * 1024;

/**
 * `tether daemon logs [-n N] [-f]`: what a daemon started in the background
 * logged (daemon.log in the state dir, which `daemon start` rotates), as
 * `journalctl -u` shows a unit's: all of it, or its last N lines; -f goes
 * on with what it logs next, across a rotation, until Ctrl-C. It reads the
 * file: no daemon need run, and none is started.
 */
export async function daemonLogs(args: string[], paths: ClientPaths): Promise<number> {
  const { values } = parseCommandLine({ args, options: { tail: { type: "string", short: "n" }, follow: { type: "boolean", short: "f", default: false } }, strict: true });
  const tailLines = parseTailFlag(values.tail, false, "lines");
  let file = open(paths.logPath);
  let at = tailLines === undefined ? 0 : tailStart(file.fd, file.size, tailLines);
  for (;;) {
    at = await copy(file.fd, at);
    if (!values.follow) break;
    await sleep(FOLLOW_POLL_MS);
    // Rotated (a new file in its place) or cut short: on from the new file's start, once the old one's rest is out.
    const now = statOrUndefined(paths.logPath);
    if (now !== undefined && (now.ino !== file.ino || now.size < at)) {
      await copy(file.fd, at);
      closeSync(file.fd);
      file = open(paths.logPath);
      at = 0;
    }
  }
  closeSync(file.fd);
  return 0;
}

function open(path: string): { fd: number; ino: number; size: number } {
  try {
    const fd = openSync(path, "r");
    const { ino, size } = statSync(path);
    return { fd, ino, size };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    throw new CliError(`no daemon log at ${path}: a daemon started in the background (tether daemon start, or by any command) logs there; tether daemon run logs to its own stderr (under systemd: journalctl --user -u UNIT)`);
  }
}

function statOrUndefined(path: string): { ino: number; size: number } | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

/** Where the last `lines` lines of the file's first `size` bytes start (looking back at most TAIL_WINDOW_BYTES). */
function tailStart(fd: number, size: number, lines: number): number {
  if (lines === 0) return size;
  const from = Math.max(0, size - TAIL_WINDOW_BYTES);
  const window = Buffer.alloc(size - from);
  readSync(fd, window, 0, window.length, from);
  // The newline ending the last line is not a line's start.
  let at = window.length > 0 && window[window.length - 1] === 0x0a ? window.length - 1 : window.length;
  for (let seen = 0; seen < lines; seen++) {
    const newline = window.lastIndexOf(0x0a, at - 1);
    if (newline < 0) return from;
    at = newline;
  }
  return from + at + 1;
}

/** Writes the file from `at` to its end to stdout (waiting for a slow reader); returns where it ended. */
async function copy(fd: number, at: number): Promise<number> {
  const buffer = Buffer.alloc(READ_BYTES);
  for (;;) {
    const read = readSync(fd, buffer, 0, buffer.length, at);
    if (read === 0) return at;
    at += read;
    if (!process.stdout.write(Buffer.from(buffer.subarray(0, read)))) await once(process.stdout, "drain");
  }
}
