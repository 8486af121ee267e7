import { formatMs } from "../../common/format.js";
import { setLongTimeout } from "../long-timeout.js";
import { KILL_GRACE_MS } from "../process/signals.js";
import type { ExecProcess } from "./exec-process.js";
import { terminate } from "./launch.js";

/**
 * Stops `process` once it has run `timeoutMs` (0: never), as a CI
 * runner's step timeout: SIGTERM to its group, SIGKILL after KILL_GRACE_MS.
 * Returns what its record's error says of it then, undefined until it has.
 */
export function armTimeout(process: ExecProcess, timeoutMs: number): () => string | undefined {
  if (timeoutMs === 0) return () => undefined;
  let said: string | undefined;
  const deadline = setLongTimeout(() => {
    said = `timed out after ${formatMs(timeoutMs)} (its --timeout)`;
    void terminate(process, process.ended, "SIGTERM", KILL_GRACE_MS);
  }, timeoutMs);
  void process.ended.then(() => clearTimeout(deadline));
  return () => said;
}
