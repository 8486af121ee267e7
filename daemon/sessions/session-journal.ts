import type { Journals } from "../journal/journals.js";
import type { JournalRecord } from "../journal/types.js";
import type { Activity, RunStatus, SessionStatus } from "./types.js";

/**
 * Each session has two journals: `<id>.events` (status, activity and run
 * transitions, in order) and `<id>.log` (every run's output, chunk by chunk;
 * journal offsets are the session log's byte offsets).
 */
export const eventsJournal = (sessionId: string): string => `${sessionId}.events`;
export const logJournal = (sessionId: string): string => `${sessionId}.log`;

/** One change of a session, as stored in its events journal. */
export interface SessionEventData {
  readonly status: SessionStatus;
  readonly activity: Activity;
  readonly reason: string;
  readonly run: RunChangeData | undefined;
}

export interface RunChangeData {
  readonly number: number;
  readonly task: string;
  readonly attempt: number;
  readonly status: RunStatus;
  readonly exitCode: number | undefined;
  readonly reason: string;
}

export interface SessionEvent extends SessionEventData {
  readonly seq: number;
  readonly at: number;
}

export function encodeEvent(event: SessionEventData): Uint8Array {
  return Buffer.from(JSON.stringify(event));
}

export function decodeEvent(record: JournalRecord): SessionEvent {
  const data = JSON.parse(Buffer.from(record.data).toString("utf8")) as SessionEventData;
  return { ...data, seq: record.seq, at: record.createdAt };
}

/** One chunk of a run's output, as stored in the session log. */
export interface OutputChunk {
  readonly run: number;
  readonly fd: 1 | 2;
  /** Offset of data[0] within the run's stdout or stderr. */
  readonly offset: number;
  /** Offset of data[0] within the session log. */
  readonly logOffset: number;
  readonly data: Uint8Array;
}

export function decodeChunk(record: JournalRecord): OutputChunk {
  const meta = record.meta ?? {};
  const run = Number(meta["r"]);
  const fd = meta["s"] === "2" ? 2 : 1;
  // "e" is where the chunk ends in the run's output: a read that starts in the
  // middle of a record gets its tail, so the start is counted back from the end.
  return { run, fd, offset: Number(meta["e"]) - record.data.byteLength, logOffset: record.offset, data: record.data };
}

/** Below this many bytes in flight a run's output is read freely; above it, reading waits for commits (the pipe fills, the writer blocks). */
const OUTPUT_HIGH_WATERMARK_BYTES = 8 * 1024 * 1024;

/**
 * Writes one run's stdout and stderr into the session log, keeping per-fd
 * offsets, and pushes back on the process when commits fall behind so the
 * daemon's memory stays bounded however fast the run writes.
 */
export class RunOutputWriter {
  private readonly offsets = { 1: 0, 2: 0 };
  private inFlight = 0;
  private readonly pending = new Set<Promise<unknown>>();
  /** Everything the run wrote to stdout, up to the cap (for `result: stdout`). */
  private stdoutKept: Buffer[] = [];
  private stdoutKeptBytes = 0;

  constructor(
    private readonly journals: Journals,
    private readonly journal: string,
    private readonly run: number,
    private readonly keepStdoutBytes: number,
  ) {}

  write(fd: 1 | 2, chunk: Buffer): Promise<unknown> | undefined {
    if (fd === 1 && this.stdoutKeptBytes < this.keepStdoutBytes) {
      this.stdoutKept.push(chunk);
      this.stdoutKeptBytes += chunk.byteLength;
    }
    this.offsets[fd] += chunk.byteLength;
    const meta = { r: String(this.run), s: String(fd), e: String(this.offsets[fd]) };
    this.inFlight += chunk.byteLength;
    const appended = this.journals.append(this.journal, [{ data: chunk, meta }]).finally(() => {
      this.inFlight -= chunk.byteLength;
      this.pending.delete(appended);
    });
    appended.catch(() => undefined);
    this.pending.add(appended);
    return this.inFlight > OUTPUT_HIGH_WATERMARK_BYTES ? appended : undefined;
  }

  /** Resolves once every chunk written so far is committed (or failed). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }

  stdoutText(): string {
    return Buffer.concat(this.stdoutKept).toString("utf8").slice(0, this.keepStdoutBytes).trim();
  }
}
