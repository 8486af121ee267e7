import type { TetherError } from "../errors.js";

/** How many scripts' writes (WritePty, WriteExecStdin) may wait on one process that does not read its input; more are refused. */
export const SCRIPT_WRITES_WAITING_MAX = 8;

/**
 * Scripts' unary writes to one process's input (a PTY's WritePty, an exec's
 * WriteExecStdin), taken one at a time in arrival order: `take` writes one
 * and resolves once the input has room for the next. A call that arrives
 * while the program does not read holds only its own request and adds
 * nothing to what waits in the daemon; at most SCRIPT_WRITES_WAITING_MAX
 * such calls wait, later ones get `full()`'s error, so scripts that keep
 * writing to a program that never reads cannot grow the daemon's memory. A
 * call cancelled (or past its deadline) while it waits writes nothing, lets
 * its bytes go and no longer counts.
 */
export class ScriptWrites {
  private last: Promise<void> = Promise.resolve();
  private waiting = 0;

  constructor(
    private readonly take: (data: Uint8Array) => Promise<void>,
    private readonly full: () => TetherError,
  ) {}

  /** Resolves once `take` has taken `data` (or the process is gone); rejects with the signal's reason when it aborts first. */
  async write(data: Uint8Array, signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    if (this.waiting >= SCRIPT_WRITES_WAITING_MAX) throw this.full();
    this.waiting++;
    let pending: Uint8Array | undefined = data;
    const turn = this.last.then(() => (pending === undefined ? undefined : this.take(pending)));
    this.last = turn.catch(() => undefined);
    let onAbort!: () => void;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => {
        pending = undefined;
        reject(signal.reason);
      };
      signal.addEventListener("abort", onAbort, { once: true });
    });
    try {
      await Promise.race([turn, aborted]);
    } finally {
      signal.removeEventListener("abort", onAbort);
      this.waiting--;
    }
  }
}
