import { invalidArgument } from "../errors.js";
import { PACED_LAG_BYTES } from "./follow-output.js";

/**
 * The least output an exec or a session may be asked to keep: twice what an
 * exec's own client may lag behind (PACED_LAG_BYTES), so that client never
 * falls past what is kept; one data file's worth (16 MiB) too.
 */
export const OUTPUT_MAX_BYTES_MIN = 2 * PACED_LAG_BYTES;

/** What an output limit below the least says to do, as a request's field or a task file's key (`what`). */
export function outputLimitProblem(bytes: number, what: string): string | undefined {
  if (bytes === 0 || bytes >= OUTPUT_MAX_BYTES_MIN) return undefined;
  return `${what} is ${bytes}: keep at least ${OUTPUT_MAX_BYTES_MIN / 1024 / 1024} MiB of output (0 keeps all of it)`;
}

/** Refuses a request's output_max_bytes below the least (0: keep all of it). */
export function checkOutputMaxBytes(bytes: number): void {
  const problem = outputLimitProblem(bytes, "output_max_bytes");
  if (problem !== undefined) throw invalidArgument("output_max_bytes", problem);
}
