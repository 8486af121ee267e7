import { TetherError } from "../errors.js";

/**
 * After a state change that could not be stored (a full disk), the session's
 * whole state is stored again this long after, and again until a commit
 * takes it: otherwise the store keeps the state before the change, and a
 * restarted daemon finds a run it saw succeed still running, and records it
 * lost.
 */
const STORE_AGAIN_DELAY_MS = 1000;

/**
 * Stores a session's whole state again (`store`: its row and every run's as
 * they are then, with an event saying why) after a change failed, every
 * STORE_AGAIN_DELAY_MS until a commit takes it. Changes failing meanwhile
 * share the attempt. What rode along a failed change besides the rows (a
 * wait's take) is not stored again.
 */
export class StoreAgain {
  private attempt: Promise<void> | undefined;

  constructor(
    private readonly store: () => Promise<unknown>,
    private readonly log: (message: string) => void,
  ) {}

  /** While the state waits to be stored again: settles once it is (or the daemon stops). */
  get pending(): Promise<void> | undefined {
    return this.attempt;
  }

  /** A change failed with `error`: the state is stored again, unless the daemon is stopping. */
  after(error: unknown): Promise<void> | undefined {
    if (shuttingDown(error)) return undefined;
    this.attempt ??= new Promise<void>((resolve) => {
      const tryOnce = (): void => {
        // A daemon that stops has recorded what it could: the timer does not hold it up.
        setTimeout(() => {
          this.store().then(
            () => {
              this.attempt = undefined;
              resolve();
            },
            (failure: unknown) => {
              this.log(`its state could not be stored again yet: ${(failure as Error).message}`);
              if (shuttingDown(failure)) resolve();
              else tryOnce();
            },
          );
        }, STORE_AGAIN_DELAY_MS).unref();
      };
      tryOnce();
    });
    return this.attempt;
  }
}

/** The store refused because the daemon is stopping: nothing to store again. */
function shuttingDown(error: unknown): boolean {
  return error instanceof TetherError && error.reason === "DAEMON_SHUTTING_DOWN";
}
