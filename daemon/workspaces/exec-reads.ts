import type { TetherError } from "../errors.js";
import { invalidArgument } from "../errors.js";
import type { Journals } from "../journal/journals.js";
import { readStartOffset, type ReadStart } from "../journal/tails.js";
import { followOutput, type LiveOutput } from "../process/follow-output.js";
import type { OutputPiece } from "../process/output-tap.js";
import { untilAborted } from "../until-aborted.js";
import type { ExecTables } from "./exec-tables.js";
import type { LiveExec } from "./execs.js";
import { outputLostError } from "./launch.js";
import type { ExecRecord } from "./types.js";

/** A reader of an exec's output (ExecReads.read). */
export interface ExecRead {
  readonly exec: ExecRecord;
  /** Its output: stdout and stderr pieces, each with its place in the whole output and in its stream. */
  readonly chunks: AsyncGenerator<OutputPiece[]>;
  /** The record as it is once the chunks have ended. */
  final(): ExecRecord;
  /** Once the chunks have ended: an error when some of the output was never stored (a full disk), so this reader did not get it. */
  lost(): TetherError | undefined;
}

/** What reading execs' output needs of Execs. */
export interface ExecReadSource {
  readonly journals: Journals;
  readonly tables: ExecTables;
  /** The exec a client names (id, prefix or name). */
  find(ref: string): ExecRecord;
  /** The record with live byte counts while it runs. */
  current(exec: ExecRecord): ExecRecord;
  /** The running exec, if it runs. */
  live(id: string): (LiveExec & LiveOutput) | undefined;
  /** Its start, while it waits in its queue. */
  queuedStart(id: string): Promise<LiveExec | undefined> | undefined;
}

/** The journal of exec `execId`'s output, stdout and stderr together as received. */
export function outputJournal(execId: string): string {
  return `${execId}.out`;
}

/**
 * The read side of execs: their output from a byte offset, a tail or a
 * time, from the store, and live while they run. A queued exec has no
 * output yet: its reader starts at its beginning, once it starts.
 */
export class ExecReads {
  constructor(private readonly source: ExecReadSource) {}

  /** Where a reattach asked for by offset, by tail (its last lines) or by time starts in the exec's output. */
  startOffset(ref: string, start: ReadStart): Promise<number> {
    const exec = this.source.find(ref);
    return exec.status === "queued" ? Promise.resolve(0) : readStartOffset(this.source.journals, outputJournal(exec.id), start);
  }

  /**
   * The exec's output from a byte offset (stdout and stderr together, as
   * received); with follow and a running exec, until it has ended and every
   * byte is read. `final()` then gives its end. `pace`: the reader is the
   * exec's own client, which paces the process while it reads (OutputPacer).
   */
  read(ref: string, fromOffset: number, follow: boolean, signal: AbortSignal, pace = false): ExecRead {
    if (fromOffset < 0) throw invalidArgument("from_offset", "from_offset must be 0 (the beginning) or a positive byte offset");
    const { journals, tables } = this.source;
    const exec = this.source.find(ref);
    const queued = this.source.queuedStart(exec.id);
    if (queued !== undefined) return this.readOnceStarted(exec, queued, fromOffset, follow, signal, pace);
    // 0 is the beginning: the oldest output kept, when output_max_bytes dropped some.
    const from = fromOffset === 0 ? this.bounds(exec.id).firstOffset : fromOffset;
    journals.requireKept(outputJournal(exec.id), { kind: "offset", offset: from });
    const live = follow ? this.source.live(exec.id) : undefined;
    return {
      exec: this.source.current(exec),
      chunks: followOutput(journals, outputJournal(exec.id), from, live, signal, {
        pacing: pace ? live?.pacer.attach(from) : undefined,
        // Another client of an exec that keeps only its last output reads on past what is dropped, as docker logs -f.
        skipDropped: true,
      }),
      final: () => this.source.current(tables.byId(exec.id) ?? exec),
      lost: () => (live === undefined ? undefined : outputLostError(`exec ${exec.id}`, live.writer, "the command ran on: free disk space where the daemon keeps its state")),
    };
  }

  /** How much of exec `id`'s output is kept: where it starts now, and the most it keeps (0: all). */
  bounds(id: string): { firstOffset: number; maxBytes: number } {
    const { journals, tables } = this.source;
    const journal = journals.find(outputJournal(id));
    if (journal === undefined) {
      // Queued: its journal is made as it starts, with the limit it was started with.
      const exec = tables.byId(id);
      return { firstOffset: 0, maxBytes: exec === undefined ? 0 : (tables.restartSpec(exec.seq)?.outputMaxBytes ?? 0) };
    }
    return { firstOffset: journal.firstOffset, maxBytes: journal.retention.maxBytes };
  }

  /** A queued exec's output: nothing while it waits; with follow, once it starts, as read gives it. */
  private readOnceStarted(exec: ExecRecord, queued: Promise<LiveExec | undefined>, fromOffset: number, follow: boolean, signal: AbortSignal, pace: boolean): ExecRead {
    let started: ExecRead | undefined;
    const self = this;
    return {
      exec: this.source.current(exec),
      chunks: (async function* () {
        if (!follow || (await untilAborted(queued, signal)) === undefined) return;
        started = self.read(exec.id, fromOffset, follow, signal, pace);
        yield* started.chunks;
      })(),
      final: () => started?.final() ?? this.source.current(this.source.tables.byId(exec.id) ?? exec),
      lost: () => started?.lost(),
    };
  }
}
