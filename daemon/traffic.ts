import { CallMemory, REQUESTS, RESPONSES } from "./call-memory.js";

/**
 * What the daemon serves now, over both protocols: client connections open,
 * calls in progress and what they hold (GetDaemonInfo reports them). A call counts from its
 * start until its handler has ended, not its stream: a handler that goes on
 * after its client left is what a leak looks like from outside.
 */
export class Traffic {
  private openConnections = 0;
  private openCalls = 0;
  /** What every call holds of requests not yet taken by its handler, to a limit. */
  readonly requests = new CallMemory(REQUESTS);
  /** What every call holds of responses its client has not read, to a limit. */
  readonly responses = new CallMemory(RESPONSES);

  get connections(): number {
    return this.openConnections;
  }

  get calls(): number {
    return this.openCalls;
  }

  /** A connection opened; the function returned closes it (once, however often it is called). */
  connectionOpened(): () => void {
    this.openConnections++;
    return once(() => this.openConnections--);
  }

  /** A call started; the function returned ends it (once). */
  callStarted(): () => void {
    this.openCalls++;
    return once(() => this.openCalls--);
  }
}

function once(end: () => void): () => void {
  let ended = false;
  return () => {
    if (ended) return;
    ended = true;
    end();
  };
}
