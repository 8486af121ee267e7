import { once } from "node:events";
/** A line of a run's output, for a view that puts its task before each line: its bytes as the run wrote them (not decoded: a byte that is not UTF-8 stays itself). */
export interface OutputLine {
  readonly task: string;
  readonly stderr: boolean;
  readonly bytes: Buffer;
}

/**
 * The longest line held for its newline: output without newlines (a binary
 * dump, a progress bar that only returns) is cut at this size, as docker
 * cuts its logs' lines, rather than held whole and joined again with every
 * chunk.
 */
export const LINE_MAX_BYTES = 64 * 1024;

/**
 * Cuts runs' output chunks into lines, per run and stream, for the views
 * that put a task prefix before each line (`tether run`, `tether attach`):
 * a line cut across chunks is held until its newline, so a character cut
 * across chunks comes out whole, and one longer than LINE_MAX_BYTES is cut
 * between characters; `rest` gives what is left without a newline at the
 * end. Lines stay bytes: output that is not UTF-8 (Latin-1, binary) comes
 * out as `tether logs` gives it, not as U+FFFD.
 */
export class OutputLines {
  private readonly held = new Map<string, { task: string; stderr: boolean; bytes: Buffer }>();

  /** The lines `data` completes, without their newlines. */
  add(run: number, task: string, stderr: boolean, data: Uint8Array): OutputLine[] {
    const key = `${run}:${stderr ? 2 : 1}`;
    const before = this.held.get(key);
    const bytes = before === undefined || before.bytes.length === 0 ? Buffer.from(data.buffer, data.byteOffset, data.byteLength) : Buffer.concat([before.bytes, data]);
    const lines: OutputLine[] = [];
    let from = 0;
    for (let newline = bytes.indexOf(0x0a); newline >= 0; newline = bytes.indexOf(0x0a, from)) {
      lines.push({ task, stderr, bytes: Buffer.from(bytes.subarray(from, newline)) });
      from = newline + 1;
    }
    // A line longer than LINE_MAX_BYTES goes out in pieces of about that size, each cut between characters.
    while (bytes.length - from > LINE_MAX_BYTES) {
      const cut = characterStart(bytes, from + LINE_MAX_BYTES, from);
      lines.push({ task, stderr, bytes: Buffer.from(bytes.subarray(from, cut)) });
      from = cut;
    }
    // Copied: the chunk's buffer is not ours to keep.
    this.held.set(key, { task, stderr, bytes: Buffer.from(bytes.subarray(from)) });
    return lines;
  }

  /** The lines left without a newline (once the output has ended: of run `run` alone, when given), and nothing held of them after. */
  rest(run?: number): OutputLine[] {
    const keys = [...this.held.keys()].filter((key) => run === undefined || key.startsWith(`${run}:`));
    const rest = keys.map((key) => this.held.get(key)!).filter((h) => h.bytes.length > 0);
    for (const key of keys) this.held.delete(key);
    return rest.map((h) => ({ task: h.task, stderr: h.stderr, bytes: h.bytes }));
  }
}

/** `at`, moved back to where a UTF-8 character starts (no further back than `floor` + 1). */
function characterStart(bytes: Buffer, at: number, floor: number): number {
  let cut = at;
  while (cut > floor + 1 && (bytes[cut]! & 0xc0) === 0x80) cut--;
  return cut;
}

/**
 * `line` after `prefix`, ending in a newline. A carriage return inside it
 * (a progress bar redrawing its line) takes the cursor back over the
 * prefix, so the prefix is written again after each one.
 */
export function prefixed(prefix: string, line: Uint8Array): Buffer {
  const head = Buffer.from(prefix);
  const bytes = Buffer.from(line.buffer, line.byteOffset, line.byteLength);
  const parts: Buffer[] = [head];
  let from = 0;
  for (let cr = bytes.indexOf(0x0d); cr >= 0; cr = bytes.indexOf(0x0d, cr + 1)) {
    // A return with something after it that is not another return; a CRLF line's return is its end.
    if (cr + 1 >= bytes.length || bytes[cr + 1] === 0x0d) continue;
    parts.push(bytes.subarray(from, cr + 1), head);
    from = cr + 1;
  }
  parts.push(bytes.subarray(from), NEWLINE);
  return Buffer.concat(parts);
}

const NEWLINE = Buffer.from("\n");

/**
 * Writes a chunk's lines, each after `prefix(task)`: stdout's in one write
 * to stdout, stderr's in one to stderr (a live view redrawn once, not once a
 * line), through `print` (a stream's write, or a view's that redraws below
 * it); waits for a stream's drain, so a slow reader of this command holds
 * its reads, not its memory.
 */
export async function writeLines(lines: readonly OutputLine[], prefix: (task: string) => string, print: (stream: NodeJS.WriteStream, bytes: Buffer) => boolean = (stream, bytes) => stream.write(bytes)): Promise<void> {
  for (const stderr of [false, true]) {
    const bytes = Buffer.concat(lines.filter((line) => line.stderr === stderr).map((line) => prefixed(prefix(line.task), line.bytes)));
    const stream = stderr ? process.stderr : process.stdout;
    if (bytes.length > 0 && !print(stream, bytes)) await once(stream, "drain");
  }
}
