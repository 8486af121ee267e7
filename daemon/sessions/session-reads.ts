import { Code } from "@connectrpc/connect";
import { groupMembers } from "../tasks/graph.js";
import { TetherError } from "../errors.js";
import { followUntil } from "../journal/follow.js";
import { readStartOffset, readStartSeq } from "../journal/tails.js";
import type { Journals } from "../journal/journals.js";
import type { Cursor, JournalRecord } from "../journal/types.js";
import type { StreamDirection } from "../tasks/types.js";
import { noSuchRun } from "./lifecycle.js";
import type { LiveSession } from "./live-session.js";
import { decodeChunk, decodeEvent, eventsJournal, logJournal, sessionJournals, type OutputChunk, type SessionEvent } from "./session-journal.js";
import { nextPositionAfter } from "./session-order.js";
import { declaredStreams, requireStream, streamNextSeq } from "./session-streams.js";
import { readTimeline, type TimelineBatch, type TimelineItem, type TimelineSource } from "./session-timeline.js";
import type { Sessions } from "./sessions.js";
import { decodeStreamRecord, streamJournal, type StreamRecord } from "./stream-records.js";
import type { SessionView } from "./types.js";
import { meantThen } from "../../common/closest-word.js";

/** A chunk of output with the task of the run that wrote it. */
export interface TaskOutputChunk extends OutputChunk {
  readonly task: string;
}

/** A session stream as listed: its name, direction and the sequence its next record gets. */
export interface StreamInfo {
  readonly name: string;
  readonly direction: StreamDirection;
  readonly nextSeq: number;
  /** The oldest kept: 1 unless max_output dropped some. */
  readonly firstSeq: number;
}

/** One thing that happened in a session, as an attached client sees it. */
export type SessionItem =
  | { readonly kind: "change"; readonly event: SessionEvent }
  | { readonly kind: "output"; readonly chunk: TaskOutputChunk }
  | { readonly kind: "record"; readonly record: StreamRecord };

export interface AttachOptions {
  readonly fromPosition: number;
  /** Only these streams' records (empty: every stream). */
  readonly streams: readonly string[];
  readonly withoutOutput: boolean;
  readonly signal: AbortSignal;
}

export interface Attachment {
  readonly session: SessionView;
  readonly streams: readonly string[];
  /** Positions before this are backlog. */
  readonly livePosition: number;
  readonly items: AsyncGenerator<TimelineBatch<SessionItem>>;
}

export interface LogReadOptions {
  readonly run: number;
  readonly task: string;
  readonly fromOffset: number;
  /** Start at the last this many lines of the output selected instead (journal/tails.ts). */
  readonly tailLines: number | undefined;
  /** Start at the first output stored at this time or later instead (milliseconds since the epoch). */
  readonly sinceMs: number | undefined;
  readonly follow: boolean;
  readonly signal: AbortSignal;
}

export interface StreamReadOptions {
  readonly fromSeq: number;
  /** Start at the last this many records (with the correlation id) instead (journal/tails.ts). */
  readonly tailRecords: number | undefined;
  readonly correlationId: string;
  readonly follow: boolean;
  readonly signal: AbortSignal;
}

/** How long a follower follows a live session: until it is quiet (logs, watch) or until it has ended (streams, attach). */
type FollowUntil = (live: LiveSession, signal: AbortSignal) => Promise<void>;
const untilQuiet: FollowUntil = (live, signal) => live.waitQuiet(signal);
const untilRetired: FollowUntil = (live, signal) => live.waitRetired(signal);

/**
 * A session's history as readers see it: run output, changes, stream
 * records and the one merged order of attach; for a live session, followed
 * as it is written. Reading never changes a session.
 */
export class SessionReads {
  /**
   * Items decoded from records, shared by every attached reader: records
   * near the tail are one shared object each (the journal's tail cache), so
   * a hundred readers decode a record once.
   */
  private readonly decoded = new WeakMap<JournalRecord, TimelineItem<SessionItem>>();

  constructor(
    private readonly journals: Journals,
    private readonly sessions: Sessions,
  ) {}

  /** The session's streams: name, direction and the sequence the next record gets. */
  streams(idOrPrefix: string): StreamInfo[] {
    const { record } = this.sessions.resolve(idOrPrefix);
    return [...declaredStreams(record.spec.tasks)].map(([name, direction]) => ({
      name,
      direction,
      nextSeq: streamNextSeq(this.journals, record.id, name),
      firstSeq: this.journals.find(streamJournal(record.id, name))?.firstSeq ?? 1,
    }));
  }

  /** The session's output in order, filtered by run or task; with follow, until the session is quiet. */
  async *readLogs(idOrPrefix: string, options: LogReadOptions): AsyncGenerator<TaskOutputChunk[]> {
    const { record, live } = this.sessions.resolve(idOrPrefix);
    const taskOf = this.taskNamer(record.id);
    if (options.run !== 0 && taskOf(options.run) === "") {
      throw noSuchRun(record.id, options.run, this.sessions.runs(record.id).length);
    }
    if (options.task !== "" && !record.spec.tasks.some((t) => t.name === options.task)) {
      const tasks = record.spec.tasks.map((t) => t.name);
      throw new TetherError(Code.NotFound, "TASK_NOT_FOUND", `session ${record.id} runs no task ${JSON.stringify(options.task)}: ${meantThen(options.task, tasks, `its graph's tasks are ${tasks.join(", ")}`)}`, { task: options.task });
    }
    // A group's output is its members' (a matrix task's, its combinations').
    const tasks = options.task === "" ? undefined : groupMembers(record.spec.tasks, options.task);
    const selected = (run: number): boolean => (options.run === 0 || run === options.run) && (tasks === undefined || tasks.has(taskOf(run)));
    const journal = logJournal(record.id);
    const start = await readStartOffset(this.journals, journal, options, (r) => selected(decodeChunk(r).run));
    // 0 is the beginning: the oldest output kept, when the session's max_output dropped some.
    const offset = start === 0 ? (this.journals.find(journal)?.firstOffset ?? 0) : start;
    this.journals.requireKept(journal, { kind: "offset", offset });
    // A follower of a session that keeps only its last output (max_output) reads on past what is dropped, as docker logs -f.
    for await (const records of this.follow(journal, { kind: "offset", offset }, options.follow ? live : undefined, untilQuiet, options.signal, true)) {
      const chunks = records
        .map((r): TaskOutputChunk => {
          const chunk = decodeChunk(r);
          return { ...chunk, task: taskOf(chunk.run) };
        })
        .filter((c) => selected(c.run));
      if (chunks.length > 0) yield chunks;
    }
  }

  /** The session's events in order from a sequence; with follow, until the session is quiet. */
  async *watch(idOrPrefix: string, fromSeq: number, follow: boolean, signal: AbortSignal): AsyncGenerator<SessionEvent[]> {
    const { record, live } = this.sessions.resolve(idOrPrefix);
    const cursor: Cursor = { kind: "sequence", seq: Math.max(1, fromSeq) };
    for await (const records of this.follow(eventsJournal(record.id), cursor, follow ? live : undefined, untilQuiet, signal)) {
      yield records.map(decodeEvent);
    }
  }

  /** A stream's records from a sequence, filtered by correlation id; with follow, until the session has ended. */
  async *readStream(idOrPrefix: string, stream: string, options: StreamReadOptions): AsyncGenerator<StreamRecord[]> {
    const { record, live } = this.sessions.resolve(idOrPrefix);
    requireStream(record.id, declaredStreams(record.spec.tasks), stream);
    const journal = streamJournal(record.id, stream);
    const correlated = options.correlationId === "" ? undefined : (r: JournalRecord) => decodeStreamRecord(stream, r).correlationId === options.correlationId;
    const start = await readStartSeq(this.journals, journal, options.fromSeq, options.tailRecords, correlated);
    // 0 and 1 are the beginning: the oldest record kept, when the session's max_output dropped some of an output stream's.
    const seq = start <= 1 ? (this.journals.find(journal)?.firstSeq ?? 1) : start;
    this.journals.requireKept(journal, { kind: "sequence", seq });
    // A follower of a stream that keeps only its last records reads on past what is dropped, as one of the log.
    for await (const batch of this.follow(journal, { kind: "sequence", seq }, options.follow ? live : undefined, untilRetired, options.signal, true)) {
      const records = batch.map((r) => decodeStreamRecord(stream, r)).filter((r) => options.correlationId === "" || r.correlationId === options.correlationId);
      if (records.length > 0) yield records;
    }
  }

  /**
   * Everything the session records, in its one order, from a position:
   * changes, run output and stream records; with a live session, until it
   * has ended. Every attached reader sees the same order.
   */
  attach(idOrPrefix: string, options: AttachOptions): Attachment {
    const { record, live } = this.sessions.resolve(idOrPrefix);
    const declared = declaredStreams(record.spec.tasks);
    for (const stream of options.streams) requireStream(record.id, declared, stream);
    const streams = options.streams.length > 0 ? [...new Set(options.streams)] : [...declared.keys()];
    const taskOf = this.taskNamer(record.id);
    const shared = (decode: (r: JournalRecord) => SessionItem) => (r: JournalRecord, position: number): TimelineItem<SessionItem> => {
      let item = this.decoded.get(r);
      if (item === undefined) this.decoded.set(r, (item = { position, item: decode(r) }));
      return item;
    };
    const sources: TimelineSource<SessionItem>[] = [{ journal: eventsJournal(record.id), item: shared((r) => ({ kind: "change", event: decodeEvent(r) })) }];
    if (!options.withoutOutput) {
      sources.push({
        journal: logJournal(record.id),
        item: shared((r) => {
          const chunk = decodeChunk(r);
          return { kind: "output", chunk: { ...chunk, task: taskOf(chunk.run) } };
        }),
      });
    }
    for (const stream of streams) sources.push({ journal: streamJournal(record.id, stream), item: shared((r) => ({ kind: "record", record: decodeStreamRecord(stream, r) })) });
    return {
      session: this.sessions.get(record.id),
      streams,
      livePosition: live?.nextPosition ?? nextPositionAfter(this.journals, sessionJournals(record.id, declared.keys())),
      items: readTimeline(this.journals, sources, options.fromPosition, live, options.signal),
    };
  }

  /** The task of a run by number; runs are numbered 1..n in order, so a newer run (a retry) refreshes the list. */
  private taskNamer(sessionId: string): (run: number) => string {
    let runs = this.sessions.runs(sessionId);
    return (run) => {
      if (run > runs.length) runs = this.sessions.runs(sessionId);
      return runs[run - 1]?.task ?? "";
    };
  }

  /** Reads a session journal; with a live session, follows it until `until` says so. */
  private follow(journal: string, cursor: Cursor, live: LiveSession | undefined, until: FollowUntil, signal: AbortSignal, skipDropped = false): AsyncGenerator<readonly JournalRecord[]> {
    return followUntil(this.journals, journal, cursor, live === undefined ? undefined : (stop) => until(live, stop), signal, { skipDropped });
  }
}
