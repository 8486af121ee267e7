import { STDIN_STREAM, type TaskDef } from "../tasks/types.js";
import type { SessionStreams } from "./session-streams.js";

/**
 * When a keep_open session continues: a record on one of the main task's
 * input streams (with stdin when it is fed) that is untaken and that its
 * latest run did not see; or, when that run took input, any record still
 * untaken: records that arrived while it ran are queued work, so a task
 * that takes one message per run answers every message, in order. A run
 * that took nothing does not loop on the records it left. After a daemon
 * restart nothing counts as seen: an untaken record starts a continuation.
 */
export class Continuations {
  private readonly streams: readonly string[];
  /** Per stream: records up to here were visible to the main task's latest run. */
  private readonly seen = new Map<string, number>();
  /** Per stream: how many records were taken when that run was queued. */
  private readonly takenBefore = new Map<string, number>();

  constructor(
    main: TaskDef,
    private readonly store: SessionStreams,
  ) {
    const streams = Object.entries(main.streams).filter(([, d]) => d === "input").map(([name]) => name);
    if (main.stdin === "stream" && !streams.includes(STDIN_STREAM)) streams.push(STDIN_STREAM);
    this.streams = streams;
  }

  /** A run of the main task starts (or is queued): what is there now is its to see. */
  markSeen(): void {
    for (const stream of this.streams) {
      this.seen.set(stream, this.store.nextSeq(stream) - 1);
      this.takenBefore.set(stream, this.store.takenCount(stream));
    }
  }

  /** The stream with a record that should start a continuation, if any. */
  trigger(): string | undefined {
    const tookInput = this.streams.some((stream) => this.store.takenCount(stream) > (this.takenBefore.get(stream) ?? 0));
    return this.streams.find((stream) => this.store.findUntaken(stream, "", tookInput ? 0 : (this.seen.get(stream) ?? 0)) !== undefined);
  }
}
