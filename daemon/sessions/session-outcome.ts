import { Code } from "@connectrpc/connect";
import { formatMs } from "../../common/format.js";
import { TetherError } from "../errors.js";
import { withTimeout } from "../wait-timeout.js";
import type { Sessions } from "./sessions.js";
import type { SessionView } from "./types.js";

/**
 * Resolves once session `idOrPrefix` has an outcome (docker wait, pueue
 * wait): its graph has finished (a keep_open session idling, services left
 * ready: its exit code is known) or it has ended and retired; with the
 * session then. Rejects with the signal's reason when it aborts first, and
 * with WAIT_TIMED_OUT after `timeoutMs` (0: no limit).
 */
export async function waitOutcome(sessions: Sessions, idOrPrefix: string, options: { signal: AbortSignal; timeoutMs: number }): Promise<SessionView> {
  const id = sessions.resolve(idOrPrefix).record.id;
  const { signal, clear } = withTimeout(options.signal, options.timeoutMs, () => {
    const how = `tether cancel ${id} stops it; --timeout waits longer`;
    return new TetherError(Code.DeadlineExceeded, "WAIT_TIMED_OUT", `session ${id} had no outcome within ${formatMs(options.timeoutMs)}: ${how}`, { session: id });
  });
  try {
    // Looked at again after each of its commits.
    for (let live = sessions.resolve(id).live; live !== undefined && !live.retired && !live.graphFinished; live = sessions.resolve(id).live) {
      await live.waitChange(signal);
      signal.throwIfAborted();
    }
    return sessions.get(id);
  } finally {
    clear();
  }
}
