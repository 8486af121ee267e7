import { LogStream } from "../gen/tether/v1/session_pb.js";
import { SessionService } from "../gen/tether/v1/session_service_pb.js";
import type { GrpcClient } from "./grpc-client.js";
import { ProgressView } from "./progress-view.js";
import type { Style } from "./style.js";

/** How often the in-place progress view refreshes its elapsed times. */
const PROGRESS_TICK_MS = 1_000;

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
 * of the graph on stderr (progress-view.ts).
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
  for await (const message of events) view.apply(message.events);
}

async function streamLogs(options: FollowOptions, view: ProgressView): Promise<void> {
  const width = Math.max(4, ...options.tasks.map((t) => t.length));
  const partial = new Map<string, string>();
  // A chunk's lines go out in one write: the live view is redrawn below them once, not once per line.
  const emit = (task: string, stream: LogStream, lines: readonly string[]): void => {
    if (lines.length === 0) return;
    const prefix = `${options.style.task(task.padEnd(width))} ${options.style.dim("|")} `;
    view.print(stream === LogStream.STDERR ? process.stderr : process.stdout, lines.map((line) => `${prefix}${line}\n`).join(""));
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
      emit(chunk.task, chunk.stream, lines);
    }
  }
  for (const [key, rest] of partial) if (rest !== "") emit(tasks.get(key)!, key.endsWith(`:${LogStream.STDERR}`) ? LogStream.STDERR : LogStream.STDOUT, [rest]);
}
