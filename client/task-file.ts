import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { CliError } from "./cli-error.js";
import { absolutePath, workingDirectory } from "./paths.js";

/** The task `tether run` runs when none is named, as Taskfile's `task` runs its default. */
export const DEFAULT_TASK = "default";

export const TASK_FILE_NAME = "tether.yaml";

/** The task file: `--file`, else tether.yaml found by walking up from the working directory, as git finds .git. */
export function findTaskFile(explicit: string | undefined, cwd?: string): string {
  if (explicit !== undefined) {
    const path = cwd === undefined ? absolutePath(explicit) : resolve(cwd, explicit);
    if (!existsSync(path)) throw new CliError(`task file ${path} does not exist`);
    return path;
  }
  const start = resolve(cwd ?? workingDirectory());
  for (let dir = start; ; dir = dirname(dir)) {
    const candidate = join(dir, TASK_FILE_NAME);
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) break;
  }
  throw new CliError(`no ${TASK_FILE_NAME} in ${start} or any directory above it: create one (tether init writes a starter), or name it with --file`);
}
