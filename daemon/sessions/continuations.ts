import { STDIN_STREAM, type TaskDef } from "../tasks/types.js";
import type { SessionStreams } from "./session-streams.js";

/**
 * When a keep_open session continues: a record on one of the main task's
 * input streams (with stdin when it is fed) that is untaken and that its
 * latest run did not see. Each record starts at most one continuation, so a
 * run that leaves a record untaken does not loop. After a daemon restart
 * nothing counts as seen: an untaken record starts one continuation.
 */
export class Continuations {
  private readonly streams: readonly string[];
  /** Per stream: records up to here were visible to the main task's latest run. */
  private readonly seen = new Map<string, number>();

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
    for (const stream of this.streams) this.seen.set(stream, this.store.nextSeq(stream) - 1);
  }

  /** The stream with a record that should start a continuation, if any. */
  trigger(): string | undefined {
    return this.streams.find((stream) => this.store.findUntaken(stream, "", this.seen.get(stream) ?? 0) !== undefined);
  }
}
