import { Code } from "@connectrpc/connect";
import { formatMs } from "../../common/format.js";
import { TetherError } from "../errors.js";
import { withTimeout } from "../wait-timeout.js";
import type { Sessions } from "./sessions.js";
import type { LiveSession } from "./live-session.js";
import type { SessionView } from "./types.js";

/**
 * Resolves once session `idOrPrefix` has an outcome (docker wait, pueue
 * wait): its graph has finished (a keep_open session idling, services left
 * ready: its exit code is known) or it has ended and retired; with the
 * session then. `untilReady`: once it is ready instead (compose up --wait):
 * its main task's run is ready, or its graph has finished well; one that
 * finished otherwise or ended first is SESSION_NOT_READY. Rejects with the
 * signal's reason when it aborts first, and with WAIT_TIMED_OUT after
 * `timeoutMs` (0: no limit).
 */
export async function waitOutcome(sessions: Sessions, idOrPrefix: string, options: { signal: AbortSignal; timeoutMs: number; untilReady?: boolean }): Promise<SessionView> {
  const id = sessions.resolve(idOrPrefix).record.id;
  const { signal, clear } = withTimeout(options.signal, options.timeoutMs, () => {
    const how = `tether cancel ${id} stops it; --timeout waits longer`;
    return new TetherError(Code.DeadlineExceeded, "WAIT_TIMED_OUT", `session ${id} ${options.untilReady === true ? "was not ready" : "had no outcome"} within ${formatMs(options.timeoutMs)}: ${how}`, { session: id });
  });
  const mainReady = (live: LiveSession): boolean => options.untilReady === true && live.runs.findLast((r) => r.task === live.session.task)?.status === "ready";
  try {
    // Looked at again after each of its commits.
    for (let live = sessions.resolve(id).live; live !== undefined && !live.retired && !live.graphFinished && !mainReady(live); live = sessions.resolve(id).live) {
      await live.waitChange(signal);
      signal.throwIfAborted();
    }
    const live = sessions.resolve(id).live;
    const session = sessions.get(id);
    if (options.untilReady !== true || (live !== undefined && mainReady(live))) return session;
    // Its graph finished well: open (keep_open, services left ready) or closed as a run that is done.
    if (session.exitCode === 0 && (session.status === "open" || session.status === "closed")) return session;
    const how = session.status === "open" ? `its graph finished with exit code ${session.exitCode}` : `it ended (${session.status}, exit code ${session.exitCode ?? "none"})`;
    const why = session.error === undefined || session.error === "" ? "" : `: ${session.error}`;
    throw new TetherError(Code.FailedPrecondition, "SESSION_NOT_READY", `session ${id} will not be ready: ${how}${why} (tether logs ${id} shows what it said)`, { session: id });
  } finally {
    clear();
  }
}
