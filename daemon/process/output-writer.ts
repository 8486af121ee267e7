import type { AppendInput } from "../journal/types.js";

/** Below this many bytes in flight a run's output is read freely; above it, reading waits for commits (the pipe fills, the writer blocks). */
const OUTPUT_HIGH_WATERMARK_BYTES = 8 * 1024 * 1024;

/**
 * Writes one process's stdout and stderr into a journal, each record tagged
 * with its fd (meta s) and the fd's offset after it (meta e), and pushes back
 * on the process when commits fall behind so the daemon's memory stays
 * bounded however fast it writes. Session runs and execs both use it.
 */
export class OutputWriter {
  private readonly offsets = { 1: 0, 2: 0 };
  private inFlight = 0;
  private readonly pending = new Set<Promise<unknown>>();
  /** Everything the run wrote to stdout, up to the cap (for `result: stdout`). */
  private stdoutKept: Buffer[] = [];
  private stdoutKeptBytes = 0;

  constructor(
    /** Appends to the journal. */
    private readonly append: (inputs: readonly AppendInput[]) => Promise<unknown>,
    /** Meta every record carries besides s and e (a session run's number). */
    private readonly tag: Readonly<Record<string, string>>,
    private readonly keepStdoutBytes: number,
  ) {}

  write(fd: 1 | 2, chunk: Buffer): Promise<unknown> | undefined {
    if (fd === 1 && this.stdoutKeptBytes < this.keepStdoutBytes) {
      this.stdoutKept.push(chunk);
      this.stdoutKeptBytes += chunk.byteLength;
    }
    this.offsets[fd] += chunk.byteLength;
    const meta = { ...this.tag, s: String(fd), e: String(this.offsets[fd]) };
    this.inFlight += chunk.byteLength;
    const appended = this.append([{ data: chunk, meta }]).finally(() => {
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

  /** Bytes written so far to stdout (1) or stderr (2). */
  bytes(fd: 1 | 2): number {
    return this.offsets[fd];
  }

  stdoutText(): string {
    return Buffer.concat(this.stdoutKept).toString("utf8").slice(0, this.keepStdoutBytes).trim();
  }
}
