import { STDIN_STREAM } from "../tasks/types.js";
import type { SessionStreams } from "./session-streams.js";
import type { Waiters } from "./waiters.js";

/** Why a run's stdin feed stops. Made once: abort() without a reason builds a DOMException, stack and all, every time. */
const PROCESS_ENDED = new Error("the process ended");

/**
 * How many bytes of records a feed takes at once: their takes are stored in
 * one commit (a commit per record held a piped file to a few thousand lines
 * a second), and a process that exits leaves at most about this much taken
 * and unread, as a pipe's buffer would.
 */
const TAKE_BYTES = 64 * 1024;

/**
 * Feeds a `stdin: stream` run the untaken records of the session's stdin
 * stream, in order, taking each before its bytes go to the pipe; an empty
 * record closes its stdin (EOF). Waits on `arrivals` for new records and on
 * the pipe for room; stops when the process has ended.
 */
export async function feedStdin(streams: SessionStreams, run: number, stdin: NodeJS.WritableStream, arrivals: Waiters, ended: Promise<unknown>): Promise<void> {
  const gone = new AbortController();
  void ended.then(() => gone.abort(PROCESS_ENDED));
  while (!gone.signal.aborted) {
    const records = await streams.takeNext(STDIN_STREAM, run, TAKE_BYTES);
    if (records.length === 0) {
      await arrivals.wait(gone.signal);
      continue;
    }
    for (const record of records) {
      if (record.data.byteLength === 0) {
        stdin.end();
        return;
      }
      if (!stdin.write(record.data)) await drainOrGone(stdin, gone.signal);
    }
  }
}

function drainOrGone(stdin: NodeJS.WritableStream, gone: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = (): void => {
      stdin.off("drain", done);
      gone.removeEventListener("abort", done);
      resolve();
    };
    stdin.once("drain", done);
    gone.addEventListener("abort", done, { once: true });
  });
}
