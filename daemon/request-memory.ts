import { Code } from "@connectrpc/connect";
import { TetherError } from "./errors.js";

/**
 * What the daemon holds at most of requests its handlers have not taken yet,
 * over every call of every connection: 16 messages of the largest size.
 */
export const REQUEST_MEMORY_MAX_BYTES = 256 * 1024 * 1024;

/**
 * The bytes of requests the daemon holds and no handler has taken yet:
 * messages still arriving (a message is held as its bytes come, up to the
 * 16 MiB message limit) and messages queued for a handler. Each call's own
 * limits bound what one call holds; this bounds what all of them hold
 * together, so a client opening many calls that each send most of a large
 * message and stop cannot grow the daemon without bound. When new bytes take
 * the total past the limit, the call holding the most is refused
 * (RESOURCE_EXHAUSTED) and its bytes let go: a client that holds little, as
 * every call of the CLI does, is not the one cut.
 */
export class RequestMemory {
  private total = 0;
  private readonly holds = new Set<RequestHold>();

  constructor(readonly limitBytes = REQUEST_MEMORY_MAX_BYTES) {}

  /** The bytes held now, over every call. */
  get heldBytes(): number {
    return this.total;
  }

  /** A hold for one call; `refuse` ends the call with the error when it is the one cut (once). */
  hold(refuse: (error: TetherError) => void): RequestHold {
    const hold = new RequestHold(this, refuse);
    this.holds.add(hold);
    return hold;
  }

  /** Called by a hold whose bytes changed by `delta`. */
  changed(delta: number): void {
    this.total += delta;
    if (delta > 0 && this.total > this.limitBytes) this.cut();
  }

  /** Called by a hold that is done: it holds nothing any more. */
  left(hold: RequestHold): void {
    this.holds.delete(hold);
  }

  private cut(): void {
    let largest: RequestHold | undefined;
    for (const hold of this.holds) if (largest === undefined || hold.bytes > largest.bytes) largest = hold;
    if (largest === undefined) return;
    const error = new TetherError(
      Code.ResourceExhausted,
      "REQUEST_MEMORY_FULL",
      `requests not yet taken by their handlers reached the daemon's limit of ${mib(this.limitBytes)} over all calls, and this call held the most of them (${mib(largest.bytes)}): send large messages one at a time, and call again`,
      { held_bytes: String(largest.bytes), limit_bytes: String(this.limitBytes) },
    );
    largest.refused(error);
  }
}

/** What one call holds of requests (see RequestMemory). */
export class RequestHold {
  private held = 0;
  private done = false;

  constructor(
    private readonly memory: RequestMemory,
    private readonly refuse: (error: TetherError) => void,
  ) {}

  get bytes(): number {
    return this.held;
  }

  /** The call now holds `bytes` (nothing happens once it was refused or released). */
  set(bytes: number): void {
    if (this.done || bytes === this.held) return;
    const delta = bytes - this.held;
    this.held = bytes;
    this.memory.changed(delta);
  }

  /** The call is over, or holds nothing any more for good. */
  release(): void {
    if (this.done) return;
    this.set(0);
    this.done = true;
    this.memory.left(this);
  }

  /** Cut by RequestMemory: lets go of its bytes and ends the call. */
  refused(error: TetherError): void {
    this.release();
    this.refuse(error);
  }
}

function mib(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}
