import { Code } from "@connectrpc/connect";
import { TetherError } from "../errors.js";
import type { Journals } from "../journal/journals.js";
import type { AppendResult } from "../journal/types.js";
import { PROCESS_OUTPUT } from "../process/output-writer.js";
import { RESULT_STREAM, STDIN_STREAM, type StreamDirection, type TaskDef } from "../tasks/types.js";
import { resultText } from "./task-result.js";
import type { SessionOrder } from "./session-order.js";
import { decodeStreamRecord, encodeStreamInput, storedStreamRecord, streamJournal, validateStreamInput, type StreamInput, type StreamRecord } from "./stream-records.js";
import type { StreamTables } from "./stream-tables.js";
import { meantThen } from "../../common/closest-word.js";

/** How many records one scan for an untaken record reads from the store at a time. */
const SCAN_PAGE_RECORDS = 256;
const SCAN_PAGE_BYTES = 1024 * 1024;

export interface SendResult {
  readonly record: StreamRecord;
  readonly duplicate: boolean;
}

/** One record for an input stream, among several sent at once. */
export interface StreamSend {
  readonly stream: string;
  readonly input: StreamInput;
}

/** Which records of one input stream are taken; every sequence below `low` is. */
interface Takes {
  low: number;
  readonly taken: Set<number>;
}

/** The streams a session has: every stream its tasks declare, the built-in input stream `stdin` and output stream `result`. */
export function declaredStreams(tasks: readonly TaskDef[]): Map<string, StreamDirection> {
  const streams = new Map<string, StreamDirection>([
    [STDIN_STREAM, "input"],
    [RESULT_STREAM, "output"],
  ]);
  for (const task of tasks) for (const [name, direction] of Object.entries(task.streams)) streams.set(name, direction);
  return streams;
}

/**
 * One open session's named streams: appends (with idempotency keys for
 * sends), and the bookkeeping of which input records are taken. A record is
 * taken at most once per session; takes are stored, so they survive retries,
 * continuations and daemon restarts.
 */
export class SessionStreams {
  private readonly pendingKeys = new Map<string, Promise<SendResult>>();
  private readonly takes = new Map<string, Takes>();
  /** Told each stream a send added to, once it is durable (a batch's streams once each, after the lot): the live session's waits, stdin and continuations. */
  private arrived: (stream: string) => void = () => {};

  constructor(
    private readonly sessionId: string,
    private readonly sessionSeq: number,
    private readonly declared: ReadonlyMap<string, StreamDirection>,
    private readonly journals: Journals,
    private readonly order: SessionOrder,
    private readonly tables: StreamTables,
  ) {}

  /** Throws unless the session declares `stream` (flowing in `direction`, when given). */
  require(stream: string, direction?: StreamDirection): void {
    requireStream(this.sessionId, this.declared, stream, direction);
  }

  /** Sets who is told of sends that added records (one listener: the live session). */
  onArrival(listener: (stream: string) => void): void {
    this.arrived = listener;
  }

  /**
   * Appends one record to an input stream; resolves once it is durable. A key
   * already used on the stream appends nothing and returns the first record.
   */
  async send(stream: string, input: StreamInput): Promise<SendResult> {
    const result = await this.sendOne(stream, input);
    if (!result.duplicate) this.arrived(stream);
    return result;
  }

  private async sendOne(stream: string, input: StreamInput): Promise<SendResult> {
    this.require(stream, "input");
    validateStreamInput(input);
    const journal = streamJournal(this.sessionId, stream);
    if (input.idempotencyKey === "") {
      const result = await this.order.append(journal, [encodeStreamInput(input)]);
      return { record: storedStreamRecord(stream, input, result.firstSeq, result.createdAt), duplicate: false };
    }
    const key = `${stream}\u0000${input.idempotencyKey}`;
    const pending = this.pendingKeys.get(key);
    if (pending !== undefined) return { record: (await pending).record, duplicate: true };
    const seq = this.tables.keySeq(this.sessionSeq, stream, input.idempotencyKey);
    if (seq !== undefined) return { record: this.recordAt(stream, seq), duplicate: true };
    const sent = this.order
      .append(journal, [encodeStreamInput(input)], { alongside: (r) => this.tables.saveKey(this.sessionSeq, stream, input.idempotencyKey, r.firstSeq) })
      .then((result) => ({ record: storedStreamRecord(stream, input, result.firstSeq, result.createdAt), duplicate: false }))
      .finally(() => this.pendingKeys.delete(key));
    this.pendingKeys.set(key, sent);
    return sent;
  }

  /**
   * Several sends, appended in order, each answered on its own as `send`
   * would answer it. Consecutive valid records of one stream without an
   * idempotency key share one append (one entry in the group commit), which
   * is most of what a client's batch of lines is.
   */
  async sendMany(sends: readonly StreamSend[]): Promise<PromiseSettledResult<SendResult>[]> {
    // One promise per append, not per record: a batch of lines is hundreds of records.
    const parts: Promise<PromiseSettledResult<SendResult>[]>[] = [];
    let group: StreamInput[] = [];
    let groupStream = "";
    const flush = (): void => {
      if (group.length === 0) return;
      const stream = groupStream;
      const inputs = group;
      const appended = this.order.append(streamJournal(this.sessionId, stream), inputs.map(encodeStreamInput));
      parts.push(
        appended.then(
          (result) => inputs.map((input, i) => ({ status: "fulfilled", value: { record: storedStreamRecord(stream, input, result.firstSeq + i, result.createdAt), duplicate: false } })),
          (reason: unknown) => inputs.map(() => ({ status: "rejected", reason })),
        ),
      );
      group = [];
    };
    for (const { stream, input } of sends) {
      if (input.idempotencyKey === "" && this.acceptable(stream, input)) {
        if (stream !== groupStream) flush();
        groupStream = stream;
        group.push(input);
      } else {
        flush();
        // Keyed, or refused: the one-record path decides (and says why).
        parts.push(Promise.allSettled([this.sendOne(stream, input)]));
      }
    }
    flush();
    const settled = (await Promise.all(parts)).flat();
    for (const stream of fedStreams(sends, settled)) this.arrived(stream);
    return settled;
  }

  /**
   * Appends records to an output stream, in order and atomically; resolves
   * once stored as a process's output is (PROCESS_OUTPUT). On the built-in
   * `result` stream the last record's text is given to `setResult` (the
   * task's xcom value) in the same commit.
   */
  write(stream: string, inputs: readonly StreamInput[], setResult: (value: string) => void): Promise<AppendResult> {
    this.require(stream, "output");
    // A result that is not text says so, before the checks every record gets.
    const last = stream === RESULT_STREAM ? inputs.at(-1) : undefined;
    const result = last === undefined ? undefined : resultText(last.data);
    for (const input of inputs) validateStreamInput(input);
    const alongside = result === undefined ? undefined : () => setResult(result);
    return this.order.append(streamJournal(this.sessionId, stream), inputs.map(encodeStreamInput), { ...PROCESS_OUTPUT, alongside });
  }

  /** The record a wait on input stream `stream` would take now, without taking it. */
  peek(stream: string, correlationId: string): StreamRecord | undefined {
    this.require(stream, "input");
    return this.findUntaken(stream, correlationId);
  }

  /** The sequence the stream's next record will get. */
  nextSeq(stream: string): number {
    return streamNextSeq(this.journals, this.sessionId, stream);
  }

  /** The oldest record of `stream` after `afterSeq` that is not taken and matches the correlation id (any, when empty). */
  findUntaken(stream: string, correlationId: string, afterSeq = 0): StreamRecord | undefined {
    const takes = this.takesOf(stream);
    const journal = streamJournal(this.sessionId, stream);
    let seq = Math.max(takes.low, afterSeq + 1);
    for (;;) {
      const page = this.journals.page(journal, seq, SCAN_PAGE_RECORDS, SCAN_PAGE_BYTES);
      if (page.length === 0) return undefined;
      for (const raw of page) {
        if (takes.taken.has(raw.seq)) continue;
        const record = decodeStreamRecord(stream, raw);
        if (correlationId === "" || record.correlationId === correlationId) return record;
      }
      seq = page[page.length - 1]!.seq + 1;
    }
  }

  /**
   * The oldest untaken records of `stream` (any correlation id), in order, up
   * to `maxBytes` of them (at least one), each marked taken by `run` in
   * memory at once; they are durably taken (one commit for them all) when the
   * promise resolves.
   */
  async takeNext(stream: string, run: number, maxBytes: number): Promise<StreamRecord[]> {
    const takes = this.takesOf(stream);
    const page = this.journals.page(streamJournal(this.sessionId, stream), takes.low, SCAN_PAGE_RECORDS, maxBytes);
    const records = page.filter((raw) => !takes.taken.has(raw.seq)).map((raw) => decodeStreamRecord(stream, raw));
    if (records.length === 0) return records;
    const taken = records.map((record) => this.take(stream, record.seq, run));
    await this.order.store(() => {
      for (const take of taken) take.store();
    }, "power-loss");
    return records;
  }

  /** How many records of `stream` are taken: a count that grows as runs take input. */
  takenCount(stream: string): number {
    return this.takesOf(stream).taken.size;
  }

  /** Marks a record taken in memory at once (so no one else takes it); `store` makes it durable (call it inside the commit). */
  take(stream: string, seq: number, run: number): { store: () => void; undo: () => void } {
    const takes = this.takesOf(stream);
    takes.taken.add(seq);
    while (takes.taken.has(takes.low)) takes.low++;
    return {
      store: () => this.tables.saveTake(this.sessionSeq, stream, seq, run, Date.now()),
      undo: () => {
        takes.taken.delete(seq);
        takes.low = Math.min(takes.low, seq);
      },
    };
  }

  private takesOf(stream: string): Takes {
    let takes = this.takes.get(stream);
    if (takes === undefined) {
      takes = { low: 1, taken: new Set(this.tables.takes(this.sessionSeq, stream)) };
      while (takes.taken.has(takes.low)) takes.low++;
      this.takes.set(stream, takes);
    }
    return takes;
  }

  private acceptable(stream: string, input: StreamInput): boolean {
    try {
      this.require(stream, "input");
      validateStreamInput(input);
      return true;
    } catch {
      return false;
    }
  }

  private recordAt(stream: string, seq: number): StreamRecord {
    return readStreamRecord(this.journals, this.sessionId, stream, seq);
  }
}

/** The sequence a session stream's next record will get (1 before its first). */
export function streamNextSeq(journals: Journals, sessionId: string, stream: string): number {
  try {
    return journals.get(streamJournal(sessionId, stream)).nextSeq;
  } catch {
    return 1;
  }
}

/** One stored record of a session stream. */
export function readStreamRecord(journals: Journals, sessionId: string, stream: string, seq: number): StreamRecord {
  const raw = journals.page(streamJournal(sessionId, stream), seq, 1, 1)[0];
  if (raw === undefined) throw new Error(`stream ${stream} of session ${sessionId} has no record ${seq}`);
  return decodeStreamRecord(stream, raw);
}

/** Throws unless `declared` has `stream` (flowing in `direction`, when given), listing the declared streams. */
export function requireStream(sessionId: string, declared: ReadonlyMap<string, StreamDirection>, stream: string, direction?: StreamDirection): void {
  const actual = declared.get(stream);
  if (actual === undefined) {
    const names = [...declared].map(([name, d]) => `${name} (${d})`).join(", ");
    throw new TetherError(
      Code.NotFound,
      "STREAM_NOT_FOUND",
      `session ${sessionId} has no stream ${JSON.stringify(stream)}: ${meantThen(stream, [...declared.keys()], `its streams are ${names}`)}; declare others under the task's streams: in the task file`,
      { stream },
    );
  }
  if (direction !== undefined && actual !== direction) {
    throw new TetherError(
      Code.FailedPrecondition,
      "STREAM_WRONG_DIRECTION",
      actual === "output"
        ? `stream ${stream} of session ${sessionId} is an output stream: only its tasks write it (tether output); clients read it with tether read`
        : `stream ${stream} of session ${sessionId} is an input stream: clients send to it (tether send); tasks take from it with tether wait`,
      { stream, direction: actual },
    );
  }
}

/** The streams some of `sends` added a record to (a duplicate adds none): each once, as `settled` (their outcomes, in order) says. */
function fedStreams(sends: readonly StreamSend[], settled: readonly PromiseSettledResult<SendResult>[]): Set<string> {
  const fed = new Set<string>();
  settled.forEach((outcome, i) => {
    if (outcome.status === "fulfilled" && !outcome.value.duplicate) fed.add(sends[i]!.stream);
  });
  return fed;
}
