import { lstatSync, mkdirSync } from "node:fs";
import { cp, rm } from "node:fs/promises";
import { isAbsolute, relative } from "node:path";
import { Code } from "@connectrpc/connect";
import { TetherError, invalidArgument } from "../errors.js";
import { realDirectory } from "./workspace-paths.js";

/**
 * Makes a new workspace's `root` (0700) as a copy of directory `from` (ws create --copy
 * DIR): a throwaway copy of a repository to work on, in a bwrap sandbox
 * say, as `cp -a DIR/. ROOT` makes it: files with their modes and times,
 * directories, symlinks as they are (a link is not followed out of the
 * copy); sockets, FIFOs and devices are left out (a socket of a running
 * server is no file to copy, and reading a FIFO would hold the copy). A
 * directory that holds tether's state directory is refused (the copy
 * would copy itself). A copy that fails (a full disk, a file it may not
 * read) is removed, and the error says why.
 */
export async function copyInto(from: string, root: string, stateDir: string): Promise<void> {
  if (!isAbsolute(from)) throw invalidArgument("copy_from", `copy_from must be an absolute path, got ${JSON.stringify(from)}`);
  const source = realDirectory(from, "the directory to copy");
  const inside = relative(source, realDirectory(stateDir, "the state directory"));
  if (inside === "" || (!inside.startsWith("..") && !isAbsolute(inside))) {
    throw invalidArgument("copy_from", `${source} holds tether's state directory (${stateDir}), which the copy would copy into itself: copy a directory below it, such as a project's`);
  }
  mkdirSync(root, { recursive: true, mode: 0o700 });
  try {
    await cp(source, root, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true, filter: copied });
  } catch (error) {
    await rm(root, { recursive: true, force: true });
    const { code, message } = error as NodeJS.ErrnoException;
    throw new TetherError(code === "ENOSPC" ? Code.ResourceExhausted : Code.FailedPrecondition, "COPY_FAILED", `could not copy ${source} into the new workspace (${message}); nothing was made`, { copy_from: source });
  }
}

/** What a copy takes: everything but sockets, FIFOs and devices. */
function copied(path: string): boolean {
  const stat = lstatSync(path);
  return !(stat.isSocket() || stat.isFIFO() || stat.isCharacterDevice() || stat.isBlockDevice());
}
