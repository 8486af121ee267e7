import { readFileSync, statSync } from "node:fs";
import { parseEnv } from "node:util";

/** The most an env_file may hold: variables, not data (a run's whole environment must fit ARG_MAX anyway). */
export const ENV_FILE_MAX_BYTES = 1024 * 1024;

/**
 * The variables of a task's `env_file`s (dotenv's format, as Node reads it:
 * `KEY=VALUE`, `export KEY=VALUE`, quotes, `#` comments), later files over
 * earlier ones; or why one cannot be read, which keeps the run from
 * starting. Read as each run starts, as compose reads a service's env_file
 * when it starts it: an edit applies to the next run. The values are never
 * stored (the session records only the paths).
 */
export function readEnvFiles(paths: readonly string[]): { env: Record<string, string>; problem?: string } {
  const env: Record<string, string> = {};
  for (const path of paths) {
    let text: string;
    try {
      // A FIFO or a device would block the daemon's thread, or never end.
      const stat = statSync(path);
      if (!stat.isFile()) return { env, problem: `env_file ${path} is not a regular file` };
      if (stat.size > ENV_FILE_MAX_BYTES) return { env, problem: `env_file ${path} holds ${stat.size} bytes, more than the ${ENV_FILE_MAX_BYTES} an env_file may: it is for variables` };
      text = readFileSync(path, "utf8");
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const why = code === "ENOENT" ? "it does not exist (create it, or leave it out of env_file)" : code === "EACCES" ? "permission denied" : (error as Error).message;
      return { env, problem: `cannot read env_file ${path}: ${why}` };
    }
    for (const [name, value] of Object.entries(parseEnv(text))) if (value !== undefined) env[name] = value;
  }
  return { env };
}
