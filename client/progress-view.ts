import { RunStatus, SessionActivity, SessionStatus, type SessionEvent } from "../gen/tether/v1/session_pb.js";
import { enumName } from "./enum-names.js";
import { formatElapsed } from "../common/format.js";
import type { Style } from "./style.js";

/** The live view redraws at most this often: the events between two redraws are drawn together. */
const REDRAW_MS = 50;
/**
 * Rows of the terminal the live view leaves to others: the cursor's line
 * below it, and one above, so that clearing it never starts at the top-left
 * corner (tmux takes that as clearing the screen, and keeps what was on it
 * in its history: one copy of the block per redraw) ...
 */
const TERMINAL_ROWS_LEFT = 2;
/** ... and the fewest it draws, however small the terminal (its height unknown: 24); its lines are cut to the terminal's width, at least this many columns. */
const MIN_ROWS = 4;
const MIN_COLUMNS = 20;

interface TaskLine {
  /** Where the task is in the graph's order. */
  readonly index: number;
  /** The run shown (a retry or a continuation is a new one). */
  run: number;
  status: RunStatus;
  attempt: number;
  startedAt: number | undefined;
  endedAt: number | undefined;
  reason: string;
}

/**
 * The progress of a session's graph on stderr. On a terminal (`live`): a
 * block of one line per task (status, attempt, elapsed), each cut to the
 * terminal's width, redrawn in place below the output, at most REDRAW_MS apart; when the graph has more tasks
 * than the terminal has rows, the block shows the tasks that are active,
 * failed or just ended, in graph order, and one line counting the rest by
 * status. Otherwise: one plain line per transition. The session's own
 * changes (closed, waiting ...) are printed as lines in both.
 */
export class ProgressView {
  private readonly lines = new Map<string, TaskLine>();
  /** The longest task name: the column the statuses start at. */
  private width = 0;
  private drawn = 0;
  private redrawTimer: NodeJS.Timeout | undefined;

  constructor(
    tasks: readonly string[],
    private readonly style: Style,
    readonly live: boolean,
  ) {
    for (const task of tasks) this.line(task);
  }

  /** Applies one message's events: on a terminal, the block is redrawn soon; else their lines go out in one write. */
  apply(events: readonly SessionEvent[]): void {
    const lines = events.map((event) => this.applyOne(event)).join("");
    if (lines !== "") this.print(process.stderr, lines);
    this.redrawSoon();
  }

  /** The line an event prints (a session change always, a run's when the block is not live), or "". */
  private applyOne(event: SessionEvent): string {
    const at = event.time === undefined ? Date.now() : Number(event.time.seconds) * 1000 + Math.floor(event.time.nanos / 1e6);
    if (event.run !== undefined) {
      const run = event.run;
      const line = this.line(run.task);
      if (run.number !== line.run) Object.assign(line, { run: run.number, attempt: run.attempt, startedAt: undefined, endedAt: undefined });
      line.status = run.status;
      line.reason = run.reason;
      // From its first start: a run running again after a wait goes on counting.
      if (run.status === RunStatus.RUNNING) line.startedAt ??= at;
      if (isFinal(run.status)) line.endedAt = at;
      return this.live ? "" : `${this.style.dim("tether")} ${this.describe(run.task, line, at)}\n`;
    }
    if (event.reason !== "") return `${this.style.dim("tether")} session ${sessionWord(event.status)}, ${enumName(SessionActivity, event.activity)}: ${event.reason}\n`;
    return "";
  }

  /** Writes output above the progress block; false when `stream` asks its writer to wait for its drain, as write does. */
  print(stream: NodeJS.WriteStream, text: string | Uint8Array): boolean {
    this.clear();
    const more = stream.write(text);
    this.draw();
    return more;
  }

  redraw(): void {
    if (!this.live) return;
    clearTimeout(this.redrawTimer);
    this.redrawTimer = undefined;
    this.clear();
    this.draw();
  }

  /** Draws the block a last time and leaves it on the screen. */
  finish(): void {
    this.redraw();
    this.drawn = 0;
  }

  private redrawSoon(): void {
    if (this.live) this.redrawTimer ??= setTimeout(() => this.redraw(), REDRAW_MS);
  }

  private line(task: string): TaskLine {
    let line = this.lines.get(task);
    if (line === undefined) {
      line = { index: this.lines.size, run: 0, status: RunStatus.PENDING, attempt: 1, startedAt: undefined, endedAt: undefined, reason: "" };
      this.lines.set(task, line);
      this.width = Math.max(this.width, task.length);
    }
    return line;
  }

  private clear(): void {
    if (this.live && this.drawn > 0) process.stderr.write(`\r\x1b[${this.drawn}A\x1b[J`);
    this.drawn = 0;
  }

  private draw(): void {
    if (!this.live) return;
    const now = Date.now();
    // One terminal row per line, or the cursor would not climb back over a wrapped one.
    const columns = Math.max(MIN_COLUMNS, (process.stderr.columns ?? 80) - 1);
    const shown = this.shown();
    const rows = shown.map(([task, line]) => this.describe(task, line, now, columns));
    if (shown.length < this.lines.size) rows.push(this.style.dim(clip(`… ${this.lines.size - shown.length} more: ${this.countHidden(new Set(shown.map(([task]) => task)))}`, columns)));
    process.stderr.write(`${rows.join("\n")}\n`);
    this.drawn = rows.length;
  }

  /** The tasks the block has room for, in graph order: all of them, or the most telling ones and a line for the rest. */
  private shown(): [string, TaskLine][] {
    const all = [...this.lines];
    const room = Math.max(MIN_ROWS, (process.stderr.rows ?? 24) - TERMINAL_ROWS_LEFT);
    if (all.length <= room) return all;
    return all
      .sort(([, a], [, b]) => rank(a) - rank(b) || (b.endedAt ?? 0) - (a.endedAt ?? 0) || a.index - b.index)
      .slice(0, room - 1)
      .sort(([, a], [, b]) => a.index - b.index);
  }

  /** "940 succeeded, 10 pending": the tasks not shown, by status, most first. */
  private countHidden(shown: ReadonlySet<string>): string {
    const counts = new Map<string, number>();
    for (const [task, line] of this.lines) {
      if (shown.has(task)) continue;
      const status = enumName(RunStatus, line.status);
      counts.set(status, (counts.get(status) ?? 0) + 1);
    }
    return [...counts]
      .sort((a, b) => b[1] - a[1])
      .map(([status, n]) => `${n} ${status}`)
      .join(", ");
  }

  /** A task's line, at most `columns` wide (the reason is cut first, then the line, unstyled). */
  private describe(task: string, line: TaskLine, now: number, columns = Infinity): string {
    const status = enumName(RunStatus, line.status);
    const elapsed = line.startedAt === undefined ? "" : formatElapsed((line.endedAt ?? now) - line.startedAt);
    const attempt = line.attempt > 1 ? `  attempt ${line.attempt}` : "";
    const head = `${task.padEnd(this.width)}  ${status.padEnd(9)} ${elapsed.padStart(6)}${attempt}`;
    if (head.trimEnd().length > columns) return clip(head, columns);
    const reason = clip(line.reason !== "" && line.status !== RunStatus.RUNNING ? `  ${line.reason}` : "", columns - head.length);
    const painted = this.style.paint(status.padEnd(9), statusColour(line.status));
    return `${this.style.task(task.padEnd(this.width))}  ${painted} ${elapsed.padStart(6)}${attempt}${reason === "" ? "" : this.style.dim(reason)}`.trimEnd();
  }
}

/** `text` cut to `columns` characters, its end marked when cut. */
function clip(text: string, columns: number): string {
  if (text.length <= columns) return text;
  return columns <= 0 ? "" : `${text.slice(0, columns - 1)}…`;
}

/** Which tasks a crowded block shows first: what runs, then what waits its turn, then what went wrong, then what ended. */
function rank(line: TaskLine): number {
  switch (line.status) {
    case RunStatus.RUNNING:
    case RunStatus.WAITING:
    case RunStatus.READY:
      return 0;
    case RunStatus.QUEUED:
      return 1;
    case RunStatus.FAILED:
    case RunStatus.LOST:
      return 2;
    case RunStatus.CANCELLED:
      return 3;
    case RunStatus.SUCCEEDED:
    case RunStatus.SKIPPED:
      return 4;
    default:
      return 5;
  }
}

/** Whether a run with this status has ended (its output is complete). */
export function isFinal(status: RunStatus): boolean {
  return [RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.SKIPPED, RunStatus.CANCELLED, RunStatus.LOST].includes(status);
}

function statusColour(status: RunStatus): number {
  switch (status) {
    case RunStatus.SUCCEEDED:
    case RunStatus.READY:
      return 32;
    case RunStatus.FAILED:
    case RunStatus.LOST:
      return 31;
    case RunStatus.RUNNING:
      return 36;
    case RunStatus.CANCELLED:
    case RunStatus.SKIPPED:
      return 33;
    default:
      return 2;
  }
}

function sessionWord(status: SessionStatus): string {
  return (SessionStatus[status] ?? "unknown").toLowerCase();
}
