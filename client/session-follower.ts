import { LogStream, SessionStatus, type Session } from "../gen/tether/v1/session_pb.js";
import { SessionService } from "../gen/tether/v1/session_service_pb.js";
import { enumName } from "./enum-names.js";
import type { GrpcClient } from "./grpc-client.js";
import { OutputLines, prefixed, type OutputLine } from "./output-lines.js";
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
  const lines = new OutputLines();
  // A chunk's lines go out in one write: the live view is redrawn below them once, not once per line.
  const emit = (stream: LogStream, chunkLines: readonly OutputLine[]): void => {
    if (chunkLines.length === 0) return;
    const text = chunkLines.map((line) => prefixed(`${options.style.task(line.task.padEnd(width))} ${options.style.dim("|")} `, line.text)).join("");
    view.print(stream === LogStream.STDERR ? process.stderr : process.stdout, text);
  };
  const logs = options.client.serverStream(SessionService.method.readSessionLogs, { name: `sessions/${options.sessionId}`, follow: true }, { signal: options.signal });
  for await (const message of logs) {
    for (const chunk of message.chunks) emit(chunk.stream, lines.add(chunk.run, chunk.task, chunk.stream === LogStream.STDERR, chunk.data));
  }
  for (const line of lines.rest()) emit(line.stderr ? LogStream.STDERR : LogStream.STDOUT, [line]);
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
