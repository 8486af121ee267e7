import { STDIN_STREAM } from "../tasks/types.js";
import type { SessionStreams } from "./session-streams.js";
import type { Waiters } from "./waiters.js";

/** Why a run's stdin feed stops. Made once: abort() without a reason builds a DOMException, stack and all, every time. */
const PROCESS_ENDED = new Error("the process ended");

/**
 * Feeds a `stdin: stream` run the untaken records of the session's stdin
 * stream, in order, taking each; an empty record closes its stdin (EOF).
 * Waits on `arrivals` for new records and on the pipe for room; stops when
 * the process has ended.
 */
export async function feedStdin(streams: SessionStreams, run: number, stdin: NodeJS.WritableStream, arrivals: Waiters, ended: Promise<unknown>): Promise<void> {
  const gone = new AbortController();
  void ended.then(() => gone.abort(PROCESS_ENDED));
  while (!gone.signal.aborted) {
    const record = streams.findUntaken(STDIN_STREAM, "");
    if (record === undefined) {
      await arrivals.wait(gone.signal);
      continue;
    }
    streams.take(STDIN_STREAM, record.seq, run).store();
    if (record.data.byteLength === 0) {
      stdin.end();
      return;
    }
    if (!stdin.write(record.data)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          stdin.off("drain", done);
          gone.signal.removeEventListener("abort", done);
          resolve();
        };
        stdin.once("drain", done);
        gone.signal.addEventListener("abort", done, { once: true });
      });
    }
  }
}
