import { closeSync, constants, fstatSync, openSync, readFileSync } from "node:fs";
import { Code } from "@connectrpc/connect";
import { TetherError } from "../errors.js";

/**
 * The largest task file the daemon reads: ~5,000 tasks of a line each (this
 * repository's is 1 KiB; a graph of a thousand tasks, 40 KiB). The daemon
 * parses it on its one thread, every other client waiting meanwhile: one at
 * this limit held it ~0.4 s here (`npm run bench`), one of 1 MiB ~1.5 s.
 */
export const TASK_FILE_MAX_BYTES = 256 * 1024;

/**
 * A task file's text, read by the daemon for whoever names it, so it must
 * not hold the daemon: only a regular file of at most TASK_FILE_MAX_BYTES.
 * A FIFO would block the read until something wrote to it (every other
 * client waiting meanwhile), a device such as /dev/zero would never end;
 * opened without blocking and looked at before reading, neither is read.
 */
export function readTaskFileText(path: string): string {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    throw new TetherError(Code.NotFound, "TASK_FILE_INVALID", `cannot read task file ${path}: ${(error as Error).message}`, { file: path });
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new TetherError(Code.InvalidArgument, "TASK_FILE_INVALID", `task file ${path} is not a regular file: name a tether.yaml with --file`, { file: path });
    if (stat.size > TASK_FILE_MAX_BYTES) {
      throw new TetherError(Code.InvalidArgument, "TASK_FILE_INVALID", `task file ${path} is ${stat.size} bytes, more than a task file may be (${TASK_FILE_MAX_BYTES / 1024} KiB): name a tether.yaml with --file`, { file: path });
    }
    return readFileSync(fd, "utf8");
  } finally {
    closeSync(fd);
  }
}
