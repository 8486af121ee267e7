import { LogStream, RunStatus, SessionActivity, SessionStatus, type SessionEvent } from "../gen/tether/v1/session_pb.js";
import { SessionService } from "../gen/tether/v1/session_service_pb.js";
import { enumName } from "./enum-names.js";
import { formatDuration } from "./format.js";
import type { GrpcClient } from "./grpc-client.js";
import type { Style } from "./style.js";

/** How often the in-place progress view refreshes its elapsed times. */
const PROGRESS_TICK_MS = 1_000;

interface TaskLine {
  status: RunStatus;
  attempt: number;
  startedAt: number | undefined;
  endedAt: number | undefined;
  reason: string;
}

export interface FollowOptions {
  readonly client: GrpcClient;
  readonly sessionId: string;
  /** Task names in graph order, for the progress view. */
  readonly tasks: readonly string[];
  readonly style: Style;
  readonly signal: AbortSignal;
}

/**
 * Follows a session until it is quiet: its runs' output with a coloured task
 * prefix per line (stdout to stdout, stderr to stderr), and a progress view
 * of the graph on stderr: one line per task redrawn in place on a terminal,
 * one line per transition otherwise.
 */
export async function followSession(options: FollowOptions): Promise<void> {
  const view = new ProgressView(options.tasks, options.style, process.stderr.isTTY === true);
  const ticker = view.live ? setInterval(() => view.redraw(), PROGRESS_TICK_MS) : undefined;
  try {
    await Promise.all([watchEvents(options, view), streamLogs(options, view)]);
  } finally {
    clearInterval(ticker);
    view.finish();
  }
}

async function watchEvents(options: FollowOptions, view: ProgressView): Promise<void> {
  const events = options.client.serverStream(SessionService.method.watchSession, { name: `sessions/${options.sessionId}`, follow: true }, { signal: options.signal });
  for await (const message of events) for (const event of message.events) view.apply(event);
}

async function streamLogs(options: FollowOptions, view: ProgressView): Promise<void> {
  const width = Math.max(4, ...options.tasks.map((t) => t.length));
  const partial = new Map<string, string>();
  const emit = (task: string, stream: LogStream, text: string): void => {
    const prefix = `${options.style.task(task.padEnd(width))} ${options.style.dim("|")} `;
    view.print(stream === LogStream.STDERR ? process.stderr : process.stdout, `${prefix}${text}\n`);
  };
  const logs = options.client.serverStream(SessionService.method.readSessionLogs, { name: `sessions/${options.sessionId}`, follow: true }, { signal: options.signal });
  const tasks = new Map<string, string>();
  for await (const message of logs) {
    for (const chunk of message.chunks) {
      const key = `${chunk.run}:${chunk.stream}`;
      tasks.set(key, chunk.task);
      const text = (partial.get(key) ?? "") + Buffer.from(chunk.data).toString("utf8");
      const lines = text.split("\n");
      partial.set(key, lines.pop()!);
      for (const line of lines) emit(chunk.task, chunk.stream, line);
    }
  }
  for (const [key, rest] of partial) if (rest !== "") emit(tasks.get(key)!, key.endsWith(`:${LogStream.STDERR}`) ? LogStream.STDERR : LogStream.STDOUT, rest);
}

class ProgressView {
  private readonly lines = new Map<string, TaskLine>();
  private drawn = 0;
  private sessionLine = "";

  constructor(
    tasks: readonly string[],
    private readonly style: Style,
    readonly live: boolean,
  ) {
    for (const task of tasks) this.lines.set(task, { status: RunStatus.PENDING, attempt: 1, startedAt: undefined, endedAt: undefined, reason: "" });
  }

  apply(event: SessionEvent): void {
    const at = event.time === undefined ? Date.now() : Number(event.time.seconds) * 1000 + Math.floor(event.time.nanos / 1e6);
    if (event.run !== undefined) {
      const run = event.run;
      const line = this.lines.get(run.task) ?? { status: RunStatus.PENDING, attempt: 1, startedAt: undefined, endedAt: undefined, reason: "" };
      this.lines.set(run.task, line);
      if (run.attempt !== line.attempt) Object.assign(line, { attempt: run.attempt, startedAt: undefined, endedAt: undefined });
      line.status = run.status;
      line.reason = run.reason;
      if (run.status === RunStatus.RUNNING) line.startedAt = at;
      if (isFinal(run.status)) line.endedAt = at;
      if (!this.live) this.print(process.stderr, `${this.style.dim("tether")} ${this.describe(run.task, line, at)}\n`);
    } else if (event.reason !== "") {
      this.sessionLine = `session ${sessionWord(event.status)}, ${enumName(SessionActivity, event.activity)}: ${event.reason}`;
      if (!this.live) this.print(process.stderr, `${this.style.dim("tether")} ${this.sessionLine}\n`);
    }
    this.redraw();
  }

  /** Writes output above the progress block. */
  print(stream: NodeJS.WriteStream, text: string): void {
    this.clear();
    stream.write(text);
    this.draw();
  }

  redraw(): void {
    if (!this.live) return;
    this.clear();
    this.draw();
  }

  finish(): void {
    this.redraw();
    this.drawn = 0;
  }

  private clear(): void {
    if (this.live && this.drawn > 0) process.stderr.write(`\x1b[${this.drawn}F\x1b[J`);
    this.drawn = 0;
  }

  private draw(): void {
    if (!this.live) return;
    const now = Date.now();
    const rows = [...this.lines].map(([task, line]) => this.describe(task, line, now));
    process.stderr.write(`${rows.join("\n")}\n`);
    this.drawn = rows.length;
  }

  private describe(task: string, line: TaskLine, now: number): string {
    const width = Math.max(...[...this.lines.keys()].map((t) => t.length));
    const status = enumName(RunStatus, line.status);
    const painted = this.style.paint(status.padEnd(9), statusColour(line.status));
    const elapsed = line.startedAt === undefined ? "" : formatDuration((line.endedAt ?? now) - line.startedAt);
    const attempt = line.attempt > 1 ? ` attempt ${line.attempt}` : "";
    const reason = line.reason !== "" && line.status !== RunStatus.RUNNING ? this.style.dim(`  ${line.reason}`) : "";
    return `${this.style.task(task.padEnd(width))}  ${painted} ${elapsed.padStart(6)}${attempt}${reason}`.trimEnd();
  }
}

function isFinal(status: RunStatus): boolean {
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
