import type { JournalRecord } from "../journal/types.js";
import { streamJournal } from "./stream-records.js";
import type { Activity, RunRecord, RunStatus, SessionStatus } from "./types.js";

/**
 * Each session has `<id>.events` (status, activity and run transitions, in
 * order), `<id>.log` (every run's output, chunk by chunk; journal offsets
 * are the session log's byte offsets) and one journal per stream
 * (stream-records.ts).
 */
export const eventsJournal = (sessionId: string): string => `${sessionId}.events`;
export const logJournal = (sessionId: string): string => `${sessionId}.log`;

/** Every journal of a session with these streams: events, log, and one per stream. */
export function sessionJournals(sessionId: string, streams: Iterable<string>): string[] {
  return [eventsJournal(sessionId), logJournal(sessionId), ...[...streams].map((name) => streamJournal(sessionId, name))];
}

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

/** What an event says of a run's change. */
export function runChange(run: RunRecord): RunChangeData {
  return { number: run.number, task: run.task, attempt: run.attempt, status: run.status, exitCode: run.exitCode, reason: run.reason };
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
  /** When it was committed (ms since the epoch). */
  readonly createdAt: number;
  readonly data: Uint8Array;
}

export function decodeChunk(record: JournalRecord): OutputChunk {
  const meta = record.meta ?? {};
  const run = Number(meta["r"]);
  const fd = meta["s"] === "2" ? 2 : 1;
  // "e" is where the chunk ends in the run's output: a read that starts in the
  // middle of a record gets its tail, so the start is counted back from the end.
  return { run, fd, offset: Number(meta["e"]) - record.data.byteLength, logOffset: record.offset, createdAt: record.createdAt, data: record.data };
}
