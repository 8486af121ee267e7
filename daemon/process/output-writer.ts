import type { AppendInput, AppendOptions } from "../journal/types.js";
import type { OutputPacer } from "./output-pacer.js";
import { beside } from "./thread-reader.js";

/**
 * How a process's output is appended: its stdout and stderr, and the records a
 * run writes to its output streams (WriteOutput). Not fsynced on its own (see
 * Durability): it survives a daemon crash at once, and a power cut once the
 * run's end is committed (an fsynced commit, which makes everything before it
 * durable too). A power cut before that leaves the run `lost` on restart, its
 * output as far as it got, like a log.
 */
export const PROCESS_OUTPUT: AppendOptions = { durability: "daemon-crash" };

/**
 * How a process's stdout and stderr are appended: as PROCESS_OUTPUT, their
 * bytes kept in the journal's data files (journal/data-files.ts), which sync
 * them to disk in the background as they stream; an exec or terminal waits
 * for that sync before its end is recorded.
 */
export const PROCESS_BYTES: AppendOptions = { ...PROCESS_OUTPUT, dataInFiles: true };

/**
 * Commits of one process's output in flight at once: while one is written
 * to the disk, the next can be (journal/limits.ts, COMMITS_PREPARED_AHEAD).
 */
const COMMITS_AT_ONCE = 2;
/**
 * While a commit is in flight, consecutive chunks of one fd are joined into
 * records of up to this size. Each record costs a row, a data-file write
 * and a message to each following client, whatever its size: 1 MiB records
 * took an exec's 1 GiB of output through the daemon 5-12% faster, with
 * 10-19% less of its CPU, than 256 KiB ones (paired runs); 64 KiB ones (a
 * pipe's own reads, never joined) were 10-23% slower.
 */
export const COALESCED_RECORD_BYTES = 1024 * 1024;
/**
 * Chunks are joined by copying them into one record; but consecutive chunks
 * that lie side by side in memory (thread-reader.ts reads a streaming
 * process or a terminal into regions) are joined by widening one view. A
 * record that is a view of at least this much starts anew rather than be
 * copied to take a chunk from the next region: it is large enough as it is.
 */
const COPIED_JOIN_MAX_BYTES = 256 * 1024;
/**
 * A process is streaming when its last commit held at least
 * STREAMING_MIN_BYTES and its next chunk comes within STREAMING_GAP_MS of
 * that commit ending (an echoed keystroke is a few bytes) ...
 */
const STREAMING_GAP_MS = 2;
const STREAMING_MIN_BYTES = 1024;
/**
 * ... so its next commit waits this long to gather more: fewer, larger
 * commits. A terminal flooding output (~4 KiB per read) went ~10% faster with
 * 12 ms than with 4 (paired runs); a follower of committed output sees it at
 * most this much later (a terminal's attached clients get it before its
 * commit anyway) ...
 */
const STREAMING_BATCH_MS = 12;
/**
 * ... unless this much is already waiting: a commit's records of one fd are
 * one direct write of the data files, and 4 MiB ones took 1 GiB of a run's
 * output into the journal at 1.0 GB/s against 0.84-0.87 with 1 MiB, and an
 * exec's ~10% faster (8 MiB, at the in-flight watermark, was slower).
 */
const STREAMING_BATCH_BYTES = 4 * 1024 * 1024;
/**
 * Below this many bytes in flight a process's output is read freely; above
 * it, reading waits for the oldest commit (the pipe fills, the writer
 * blocks): two full batches committing and the next one gathering.
 */
const OUTPUT_HIGH_WATERMARK_BYTES = (COMMITS_AT_ONCE + 1) * STREAMING_BATCH_BYTES;

export interface OutputWriterOptions {
  /** Meta every record carries besides s and e (a session run's number). */
  readonly tag?: Readonly<Record<string, string>>;
  /** Keep this much of stdout for stdoutText() (a task's `result: stdout`). */
  readonly keepStdoutBytes?: number;
  /**
   * Commit output that comes while the store is idle once no more has come
   * for this long (at most idleCommitMaxDelayMs after the first), not at the
   * end of the turn: for output that no client waits on the store for (a
   * terminal's: its clients get it from the tap).
   */
  readonly idleCommitDelayMs?: number;
  /** With idleCommitDelayMs: how long output that keeps coming may wait for its quiet (STREAMING_BATCH_MS unless given). */
  readonly idleCommitMaxDelayMs?: number;
  /** Holds the process back while the client that paces it lags (an exec's own client). */
  readonly pacer?: OutputPacer;
  /** Where its first byte will lie in the journal, as far as known (the journal's end when it starts); 0 when not given. */
  readonly journalStart?: number;
  /** Told of each commit that failed, after lost() counts it: `bytes` will never be in the journal, and what came after them lies that much earlier. */
  readonly onLost?: (bytes: number) => void;
}

interface Pending {
  readonly fd: 1 | 2;
  readonly parts: Buffer[];
  bytes: number;
  /** The fd's offset after the last part. */
  end: number;
}

/**
 * Writes one process's stdout and stderr into a journal, each record tagged
 * with its fd (meta s) and the fd's offset after it (meta e), and pushes back
 * on the process when commits fall behind so the daemon's memory stays
 * bounded however fast it writes. Session runs, execs and PTYs use it.
 *
 * A chunk that arrives while the store is idle is committed at the end of
 * the turn (an echoed keystroke waits for nothing), and chunks that arrive
 * while a commit is in flight are joined, per fd and in order, into the
 * next commit's records. A process that streams (its last commit was large
 * and its chunks keep arriving right after) has its next commit held
 * STREAMING_BATCH_MS to gather more: a terminal yields 4 KiB per read, and
 * one fsync per 4 KiB would cap it at a few MB/s. A full batch
 * (STREAMING_BATCH_BYTES) is committed at once, beside the commit in flight
 * (up to COMMITS_AT_ONCE): the disk takes it while the other's transaction
 * runs.
 */
export class OutputWriter {
  private readonly offsets = { 1: 0, 2: 0 };
  /** Bytes of both fds committed, in the order they came: the journal's offset after them. */
  private stored = 0;
  private inFlight = 0;
  /** Bytes whose commit failed (the store refused them: a full disk), and why the first one did. */
  private lostBytes = 0;
  private lostBecause: unknown;
  private queued: Pending[] = [];
  private queuedBytes = 0;
  /** Commits in flight, oldest first; while `gate` holds (holdUntil), none start. */
  private commits: Promise<void>[] = [];
  private gate: Promise<void> | undefined;
  private batchTimer: NodeJS.Timeout | undefined;
  /** While batchTimer waits for quiet output (idleCommitDelayMs): when it must fire at the latest, and when the last chunk came. */
  private quietDeadline: number | undefined;
  private lastChunkAt = 0;
  private commitSoon: NodeJS.Immediate | undefined;
  private lastCommitEnded = -Infinity;
  private lastCommitBytes = 0;
  /** Holds handed to the reader and not yet released: while one is, no more output comes until a commit or the client moves on. */
  private holding = 0;
  /** Everything the process wrote to stdout, up to the cap (for `result: stdout`). */
  private stdoutKept: Buffer[] = [];
  private stdoutKeptBytes = 0;

  private readonly tag: Readonly<Record<string, string>>;
  private readonly keepStdoutBytes: number;
  private readonly idleCommitDelayMs: number;
  private readonly idleCommitMaxDelayMs: number;
  private readonly pacer: OutputPacer | undefined;
  private readonly journalStart: number;
  private readonly onLost: ((bytes: number) => void) | undefined;

  constructor(
    /** Appends to the journal. */
    private readonly append: (inputs: readonly AppendInput[]) => Promise<unknown>,
    options: OutputWriterOptions = {},
  ) {
    this.tag = options.tag ?? {};
    this.keepStdoutBytes = options.keepStdoutBytes ?? 0;
    this.idleCommitDelayMs = options.idleCommitDelayMs ?? 0;
    this.idleCommitMaxDelayMs = options.idleCommitMaxDelayMs ?? STREAMING_BATCH_MS;
    this.pacer = options.pacer;
    this.journalStart = options.journalStart ?? 0;
    this.onLost = options.onLost;
  }

  /**
   * Commits nothing before `gate` settles (chunks queue meanwhile): a
   * process's output is never stored before its pid, so a restarted daemon
   * can stop any process whose output a client has seen.
   */
  holdUntil(gate: Promise<unknown>): void {
    const open = (): void => {
      this.gate = undefined;
      if (this.queued.length > 0) this.schedule();
    };
    this.gate = gate.then(open, open);
  }

  write(fd: 1 | 2, chunk: Buffer): Promise<unknown> | undefined {
    if (fd === 1 && this.stdoutKeptBytes < this.keepStdoutBytes) {
      this.stdoutKept.push(chunk);
      this.stdoutKeptBytes += chunk.byteLength;
    }
    this.offsets[fd] += chunk.byteLength;
    this.inFlight += chunk.byteLength;
    this.queuedBytes += chunk.byteLength;
    const last = this.queued.at(-1);
    const lastPart = last?.parts.at(-1);
    const adjacent = lastPart !== undefined && beside(lastPart, chunk);
    // A record that is one wide view (a reading thread's region, thread-reader.ts) is not copied to add a chunk from elsewhere: a new record starts.
    const joins = last !== undefined && last.fd === fd && last.bytes + chunk.byteLength <= COALESCED_RECORD_BYTES && (adjacent || last.parts.length > 1 || last.bytes < COPIED_JOIN_MAX_BYTES);
    if (joins) {
      // Read just after it: one wider view, no copy.
      if (adjacent) last.parts[last.parts.length - 1] = Buffer.from(chunk.buffer, lastPart.byteOffset, lastPart.byteLength + chunk.byteLength);
      else last.parts.push(chunk);
      last.bytes += chunk.byteLength;
      last.end = this.offsets[fd];
    } else {
      this.queued.push({ fd, parts: [chunk], bytes: chunk.byteLength, end: this.offsets[fd] });
    }
    if (this.committing === undefined) this.schedule();
    else if (this.queuedBytes >= STREAMING_BATCH_BYTES) this.flushNow();
    // Where the bytes so far end in the journal once committed (a failed commit's never get there).
    const held = this.pacer?.hold(this.stored + this.inFlight) ?? (this.inFlight > OUTPUT_HIGH_WATERMARK_BYTES ? this.settledOnce() : undefined);
    if (held !== undefined) {
      this.holding++;
      const release = (): void => void this.holding--;
      held.then(release, release);
    }
    return held;
  }

  /**
   * Resolves once every chunk written so far is committed (or failed). Chunks
   * that arrived during a commit may be waiting behind a batch timer when it
   * ends, so each round flushes again until nothing is queued or in flight.
   */
  async settled(): Promise<void> {
    for (;;) {
      this.flushNow();
      if (this.committing === undefined) return;
      await this.committing;
    }
  }

  /**
   * Resolves once the output is committed up to journal offset `offset` (at
   * most what was written), or once nothing more is on its way (a commit
   * failed: the store says what it has).
   */
  async storedThrough(offset: number): Promise<void> {
    while (this.stored < offset && (this.committing !== undefined || this.queued.length > 0)) await this.settledOnce();
  }

  /**
   * Where the next byte written will lie in the journal, as far as this
   * writer knows: exact when it is the journal's only writer (an exec's, a
   * terminal's), a guess when others append too (a session's parallel runs).
   */
  nextOffset(): number {
    return this.journalStart + this.offsets[1] + this.offsets[2];
  }

  /** The output that never reached the journal (its commits failed) and why, or undefined when none was lost. */
  lost(): { readonly bytes: number; readonly because: unknown } | undefined {
    return this.lostBytes === 0 ? undefined : { bytes: this.lostBytes, because: this.lostBecause };
  }

  /** What lost() says, in words: "N bytes of output could not be stored (why)"; undefined when none was lost. */
  describeLost(): string | undefined {
    if (this.lostBytes === 0) return undefined;
    const because = this.lostBecause instanceof Error ? this.lostBecause.message : String(this.lostBecause);
    return `${this.lostBytes} bytes of output could not be stored (${because})`;
  }

  /** Bytes written so far to stdout (1) or stderr (2). */
  bytes(fd: 1 | 2): number {
    return this.offsets[fd];
  }

  stdoutText(): string {
    return Buffer.concat(this.stdoutKept).toString("utf8").slice(0, this.keepStdoutBytes).trim();
  }

  /**
   * Commits at the end of this turn of the event loop when the store was idle
   * a while (interactive output), soon when the process streams. At the end
   * of the turn: after the writes this turn made to clients, so a tapped echo
   * goes out before the commit that stores it (~13 µs of a keystroke's round
   * trip here).
   */
  private schedule(): void {
    if (this.batchTimer !== undefined) {
      if (this.queuedBytes >= STREAMING_BATCH_BYTES) this.flushNow();
      else if (this.quietDeadline !== undefined) this.lastChunkAt = performance.now();
      return;
    }
    if (this.commitSoon !== undefined) return;
    const streaming = this.lastCommitBytes >= STREAMING_MIN_BYTES && performance.now() - this.lastCommitEnded <= STREAMING_GAP_MS;
    if (streaming) {
      this.batchTimer = setTimeout(() => this.flushNow(), STREAMING_BATCH_MS);
    } else if (this.idleCommitDelayMs > 0) {
      this.lastChunkAt = performance.now();
      this.quietDeadline = this.lastChunkAt + this.idleCommitMaxDelayMs;
      this.batchTimer = setTimeout(this.whenQuiet, this.idleCommitDelayMs);
    } else {
      this.commitSoon = setImmediate(() => this.flushNow());
    }
  }

  /**
   * Commits once output has been quiet for idleCommitDelayMs, or at the
   * quiet deadline: fast typing (an echo every few hundred µs) then commits
   * every idleCommitMaxDelayMs, not every few keystrokes, and each commit is
   * one a keystroke may wait behind. The timer is set once per commit and
   * set again for the rest when it fires early (a chunk came meanwhile),
   * not moved on each chunk: timers cost an echo microseconds.
   */
  private readonly whenQuiet = (): void => {
    const due = Math.min(this.lastChunkAt + this.idleCommitDelayMs, this.quietDeadline!);
    const wait = due - performance.now();
    if (wait >= 1) this.batchTimer = setTimeout(this.whenQuiet, wait);
    else this.flushNow();
  };

  private flushNow(): void {
    this.quietDeadline = undefined;
    if (this.batchTimer !== undefined) {
      clearTimeout(this.batchTimer);
      this.batchTimer = undefined;
    }
    if (this.commitSoon !== undefined) {
      clearImmediate(this.commitSoon);
      this.commitSoon = undefined;
    }
    if (this.gate === undefined && this.commits.length < COMMITS_AT_ONCE && this.queued.length > 0) this.commitQueued();
  }

  /** What is in flight: the last commit (it settles after the others), or the gate. */
  private get committing(): Promise<void> | undefined {
    return this.gate ?? this.commits.at(-1);
  }

  /** A promise that settles when the oldest commit in flight (or about to start) does. */
  private settledOnce(): Promise<unknown> {
    this.flushNow();
    return this.gate ?? this.commits[0] ?? Promise.resolve();
  }

  private commitQueued(): void {
    const batch = this.queued;
    this.queued = [];
    this.queuedBytes = 0;
    const inputs = batch.map((p) => ({
      data: p.parts.length === 1 ? p.parts[0]! : Buffer.concat(p.parts, p.bytes),
      meta: { ...this.tag, s: String(p.fd), e: String(p.end) },
    }));
    const bytes = batch.reduce((sum, p) => sum + p.bytes, 0);
    // A synchronous refusal (the store is closing) settles like a failed commit.
    const commit: Promise<void> = new Promise((resolve) => resolve(this.append(inputs))).then(
      () => {
        this.stored += bytes;
        this.committed(commit, bytes);
      },
      (error: unknown) => {
        this.lostBytes += bytes;
        this.lostBecause ??= error;
        this.pacer?.lost(bytes);
        this.onLost?.(bytes);
        this.committed(commit, bytes);
      },
    );
    this.commits.push(commit);
  }

  private committed(commit: Promise<void>, bytes: number): void {
    this.commits = this.commits.filter((c) => c !== commit);
    this.inFlight -= bytes;
    this.lastCommitEnded = performance.now();
    this.lastCommitBytes = bytes;
    if (this.queued.length === 0) return;
    // The reader waits on this commit, or a full batch waits: no reason to gather longer.
    if (this.holding > 0 || this.queuedBytes >= STREAMING_BATCH_BYTES) this.flushNow();
    else if (this.commits.length === 0) this.schedule();
  }
}
