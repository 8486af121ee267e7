import { Code } from "@connectrpc/connect";
import { TetherError } from "./errors.js";

/**
 * What the daemon holds at most for its calls on one side, over every call
 * of every connection: 16 messages of the largest size.
 */
export const CALL_MEMORY_MAX_BYTES = 256 * 1024 * 1024;

/** One side of the calls' traffic, as its limit's error names it. */
interface Side {
  readonly reason: "REQUEST_MEMORY_FULL" | "RESPONSE_MEMORY_FULL";
  /** What is held, as "X reached the daemon's limit" says it. */
  readonly held: string;
  /** What the caller can do about it. */
  readonly fix: string;
}

/** Requests the daemon holds that no handler has taken yet: messages still arriving (held as their bytes come, up to the 16 MiB message limit) and messages queued. */
export const REQUESTS: Side = {
  reason: "REQUEST_MEMORY_FULL",
  held: "requests not yet taken by their handlers",
  fix: "send large messages one at a time, and call again",
};

/** Responses written that HTTP/2 has not taken yet because their clients do not read them. */
export const RESPONSES: Side = {
  reason: "RESPONSE_MEMORY_FULL",
  held: "responses not yet read by their clients",
  fix: "read what a call answers, or open fewer calls",
};

/**
 * The bytes the daemon holds for its calls on one side (REQUESTS or
 * RESPONSES). Each call's own limits bound what one call holds; this bounds
 * what all of them hold together, so a client opening many calls that each
 * send most of a large message and stop, or that never read their answers,
 * cannot grow the daemon without bound. When new bytes take the total past
 * the limit, the call holding the most is cut (RESOURCE_EXHAUSTED) and its
 * bytes let go: a client that holds little, as every call of the CLI does,
 * is not the one cut.
 */
export class CallMemory {
  private total = 0;
  private readonly holds = new Set<CallHold>();

  constructor(
    private readonly side: Side,
    readonly limitBytes = CALL_MEMORY_MAX_BYTES,
  ) {}

  /** The bytes held now, over every call. */
  get heldBytes(): number {
    return this.total;
  }

  /** A hold for one call; `cut` ends the call with the error when it is the one cut (once). */
  hold(cut: (error: TetherError) => void): CallHold {
    const hold = new CallHold(this, cut);
    this.holds.add(hold);
    return hold;
  }

  /** Called by a hold whose bytes changed by `delta`. */
  changed(delta: number): void {
    this.total += delta;
    if (delta > 0 && this.total > this.limitBytes) this.cutLargest();
  }

  /** Called by a hold that is done: it holds nothing any more. */
  left(hold: CallHold): void {
    this.holds.delete(hold);
  }

  private cutLargest(): void {
    let largest: CallHold | undefined;
    for (const hold of this.holds) if (largest === undefined || hold.bytes > largest.bytes) largest = hold;
    if (largest === undefined) return;
    const error = new TetherError(
      Code.ResourceExhausted,
      this.side.reason,
      `${this.side.held} reached the daemon's limit of ${mib(this.limitBytes)} over all calls, and this call held the most of them (${mib(largest.bytes)}): ${this.side.fix}`,
      { held_bytes: String(largest.bytes), limit_bytes: String(this.limitBytes) },
    );
    largest.cut(error);
  }
}

/** What one call holds on one side (see CallMemory). */
export class CallHold {
  private held = 0;
  private done = false;

  constructor(
    private readonly memory: CallMemory,
    private readonly onCut: (error: TetherError) => void,
  ) {}

  get bytes(): number {
    return this.held;
  }

  /** The call now holds `bytes` (nothing happens once it was cut or released). */
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

  /** Cut by CallMemory: lets go of its bytes and ends the call. */
  cut(error: TetherError): void {
    this.release();
    this.onCut(error);
  }
}

function mib(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}
