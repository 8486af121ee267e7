import { existsSync, realpathSync, statSync } from "node:fs";
import { isAbsolute, join, sep } from "node:path";
import { Code } from "@connectrpc/connect";
import { TetherError } from "../errors.js";

/** Where no workspace may live: the kernel's pseudo filesystems. */
const FORBIDDEN_ROOTS = ["/proc", "/sys", "/dev"];

/**
 * Checks a directory to adopt as a workspace root and returns its real path.
 * Refused: a relative path, one that does not exist or is not a directory,
 * `/` itself, the kernel's pseudo filesystems, anything inside the daemon's
 * state dir, and for a sandbox, a directory containing the state dir (a
 * sandboxed process must not be able to write the daemon's database).
 */
export function adoptableRoot(path: string, stateDir: string, sandboxed: boolean): string {
  if (!isAbsolute(path)) throw notAllowed(path, `workspace path ${path} is relative: give an absolute path`);
  const real = realDirectory(path, "workspace path");
  if (real === "/") throw notAllowed(path, "a workspace cannot be the whole filesystem (/): pick a project directory");
  for (const forbidden of FORBIDDEN_ROOTS) {
    if (within(real, forbidden)) throw notAllowed(path, `a workspace cannot live in ${forbidden}: pick a project directory`);
  }
  const state = realOr(stateDir);
  if (within(real, state)) throw notAllowed(path, `${real} is inside tether's state directory ${state}: pick a directory outside it`);
  if (sandboxed && within(state, real)) {
    throw notAllowed(path, `${real} contains tether's state directory ${state}, which a sandbox must not be able to write: pick a directory that does not contain it`);
  }
  return real;
}

/**
 * Resolves a working directory inside a workspace: relative to the root, or
 * absolute; symlinks followed. It must exist, be a directory, and resolve
 * inside the root: `..` and symlinks that lead out are refused.
 */
export function resolveCwd(root: string, cwd: string): string {
  if (!existsSync(root)) {
    throw new TetherError(Code.FailedPrecondition, "PATH_NOT_ALLOWED", `the workspace's root ${root} no longer exists (removed outside tether): create it again (mkdir -p ${root}), or remove the workspace (tether ws rm)`, { path: root });
  }
  if (cwd === "") return root;
  const path = isAbsolute(cwd) ? cwd : join(root, cwd);
  const real = realDirectory(path, "working directory");
  // The root as the kernel sees it too: a state dir reached through a symlink must not refuse every cwd.
  if (!within(real, realOr(root))) {
    throw notAllowed(cwd, `working directory ${cwd} resolves to ${real}, outside the workspace root ${root}: the cwd must be inside the workspace`);
  }
  return real;
}

/** True when `path` is `dir` or inside it (both real paths). */
export function within(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep);
}

/** `path` with its symlinks resolved, refused (PATH_NOT_ALLOWED, saying so of `what`) when it is no directory. */
export function realDirectory(path: string, what: string): string {
  let real: string;
  try {
    real = realpathSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // Paths travel as UTF-8 text: one whose bytes were not UTF-8 reached here with U+FFFD in their place.
    const notUtf8 = path.includes("\uFFFD") ? " (U+FFFD in it may stand for bytes that are not UTF-8: tether takes paths as UTF-8 text)" : "";
    throw notAllowed(path, code === "ENOENT" ? `${what} ${path} does not exist${notUtf8}: create it first` : `${what} ${path} cannot be used: ${(error as Error).message}`);
  }
  if (!statSync(real).isDirectory()) throw notAllowed(path, `${what} ${path} is not a directory`);
  return real;
}

function realOr(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

function notAllowed(path: string, message: string): TetherError {
  return new TetherError(Code.InvalidArgument, "PATH_NOT_ALLOWED", message, { path });
}
