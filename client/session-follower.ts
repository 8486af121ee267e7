import { LogStream, SessionStatus, type Session } from "../gen/tether/v1/session_pb.js";
import { SessionService } from "../gen/tether/v1/session_service_pb.js";
import { enumName } from "./enum-names.js";
import type { GrpcClient } from "./grpc-client.js";
import { ProgressView } from "./progress-view.js";
import { createStyle, type Style } from "./style.js";

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

/** Prints a started session's id (-d), or follows it to its end: the CLI's exit code is the session's. `startedHow` ends the first line. */
export async function followStarted(client: GrpcClient, session: Session, startedHow: string, detached: boolean): Promise<number> {
  const id = session.id;
  if (detached) {
    process.stdout.write(`${id}\n`);
    return 0;
  }
  const style = createStyle(process.stderr);
  process.stderr.write(`${style.dim("tether")} session ${style.bold(id)} runs ${session.task}${startedHow}\n`);
  const detach = new AbortController();
  const onInterrupt = (): void => detach.abort();
  process.once("SIGINT", onInterrupt);
  try {
    await followSession({ client, sessionId: id, tasks: session.tasks, style, signal: detach.signal });
  } catch (error) {
    if (!detach.signal.aborted) throw error;
  } finally {
    process.removeListener("SIGINT", onInterrupt);
  }
  if (detach.signal.aborted) {
    process.stderr.write(`\ndetached; session ${id} goes on.\n  follow it again: tether logs -f ${id}\n  see it:          tether show ${id}\n  cancel it:       tether cancel ${id}\n`);
    return 0;
  }
  const final = (await client.unary(SessionService.method.getSession, { name: `sessions/${id}` })).session!;
  const outcome = final.error !== "" ? `: ${final.error}` : final.result !== "" ? `: ${final.result}` : "";
  const state = final.status === SessionStatus.OPEN ? "open (keep_open: it waits for more input)" : enumName(SessionStatus, final.status);
  process.stderr.write(`${style.dim("tether")} session ${id} ${state}, exit code ${final.exitCode}${outcome}\n`);
  return final.exitCode;
}
