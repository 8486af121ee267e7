import { STDIN_STREAM, type TaskDef } from "../tasks/types.js";
import type { RunGraph } from "./run-graph.js";
import type { SessionStreams } from "./session-streams.js";
import type { RunRecord } from "./types.js";

/** A continuation's new runs, in order (what the main task needs again, then the main task's), and why each was made. */
export interface Continuation {
  readonly runs: readonly { readonly run: RunRecord; readonly why: string }[];
}

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
    private readonly main: TaskDef,
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

  /**
   * A keep_open session's graph has finished: when input should continue it
   * (see trigger), its new runs, added to `graph`: first each upstream the
   * main task needs and no longer has (a service lost with the daemon, an
   * upstream that failed; RunGraph.upstreamsToRunAgain), then the main task.
   */
  next(graph: RunGraph): Continuation | undefined {
    if (!this.main.keepOpen) return undefined;
    const trigger = this.trigger();
    if (trigger === undefined) return undefined;
    this.markSeen();
    const again = graph.upstreamsToRunAgain(this.main.name).map((task) => ({ run: graph.addRun(task, 1), why: `continuation: ${task} runs again for ${this.main.name}` }));
    return { runs: [...again, { run: graph.addRun(this.main.name, 1), why: `continuation: new input on ${trigger}` }] };
  }

  /** The stream with a record that should start a continuation, if any. */
  private trigger(): string | undefined {
    const tookInput = this.streams.some((stream) => this.store.takenCount(stream) > (this.takenBefore.get(stream) ?? 0));
    return this.streams.find((stream) => this.store.findUntaken(stream, "", tookInput ? 0 : (this.seen.get(stream) ?? 0)) !== undefined);
  }
}
