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
  readonly requests: CallMemory;
  /** What every call holds of responses its client has not read, to a limit. */
  readonly responses: CallMemory;

  /** With `whole`, this counts a share of its traffic (the sandbox's): every connection and call counts in both; the memory is the whole's. */
  constructor(private readonly whole?: Traffic) {
    this.requests = whole?.requests ?? new CallMemory(REQUESTS);
    this.responses = whole?.responses ?? new CallMemory(RESPONSES);
  }

  get connections(): number {
    return this.openConnections;
  }

  get calls(): number {
    return this.openCalls;
  }

  /** A connection opened; the function returned closes it (once, however often it is called). */
  connectionOpened(): () => void {
    this.openConnections++;
    const closeWhole = this.whole?.connectionOpened();
    return once(() => {
      this.openConnections--;
      closeWhole?.();
    });
  }

  /** A call started; the function returned ends it (once). */
  callStarted(): () => void {
    this.openCalls++;
    const endWhole = this.whole?.callStarted();
    return once(() => {
      this.openCalls--;
      endWhole?.();
    });
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
