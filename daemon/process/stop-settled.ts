import { processState } from "./process-identity.js";

/** How long a pause or a resume waits to see it done (a process held up in the kernel, a loaded machine). */
const STOP_SETTLE_MS = 1_000;
const STOP_POLL_MS = 2;

/**
 * Resolves once each of `pids` is stopped after SIGSTOP (exec pause, tether
 * pause), or no longer stopped after SIGCONT (resume), as /proc says, or
 * after STOP_SETTLE_MS; at once for any other signal. The kernel stops a
 * process as it next runs, not as kill() returns: answered at once, a pause
 * could be followed by a listing that shows it running still.
 */
export async function stopSettled(signal: NodeJS.Signals, pids: readonly (number | undefined)[]): Promise<void> {
  if (signal !== "SIGSTOP" && signal !== "SIGCONT") return;
  const settled = (pid: number | undefined): boolean => {
    const state = pid === undefined ? undefined : processState(pid);
    // Gone, or a zombie: nothing to wait for.
    return state === undefined || state === "Z" || (state === "T") === (signal === "SIGSTOP");
  };
  const deadline = Date.now() + STOP_SETTLE_MS;
  while (!pids.every(settled) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, STOP_POLL_MS));
}
