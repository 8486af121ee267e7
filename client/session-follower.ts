import { ErrorReason } from "../gen/tether/v1/errors_pb.js";
import { LogStream, SessionActivity, SessionStatus, type Session, type SessionEvent } from "../gen/tether/v1/session_pb.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { SessionService, type AttachSessionRequestSchema } from "../gen/tether/v1/session_service_pb.js";
import { enumName } from "./enum-names.js";
import { CliError } from "./cli-error.js";
import { waitForSession } from "./session-runs.js";
import type { StartFollowing } from "./flags.js";
import { RpcError, UNAVAILABLE, type GrpcClient } from "./grpc-client.js";
import { OutputLines, writeLines, type OutputLine } from "./output-lines.js";
import { isFinal, ProgressView } from "./progress-view.js";
import { RESULT_STREAM } from "./stream-data.js";
import { ansiTerminal, createStyle, type Style } from "./style.js";

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
 * Follows a session until it has ended, or is open and idle (keep_open):
 * its runs' output with a coloured task prefix per line (stdout to stdout,
 * stderr to stderr), and a progress view of the graph on stderr
 * (progress-view.ts). Read through AttachSession, the session's one order,
 * so a run's output comes before its end and a last line without a newline
 * goes out then, before the next task's output.
 */
export async function followSession(options: FollowOptions): Promise<void> {
  const view = new ProgressView(options.tasks, options.style, ansiTerminal(process.stderr));
  const ticker = view.live ? setInterval(() => view.redraw(), PROGRESS_TICK_MS) : undefined;
  try {
    await follow(options, view);
  } finally {
    clearInterval(ticker);
    view.finish();
  }
}

async function follow(options: FollowOptions, view: ProgressView): Promise<void> {
  const width = Math.max(4, ...options.tasks.map((t) => t.length));
  const lines = new OutputLines();
  // A chunk's lines go out in one write: the live view is redrawn below them once, not once per line. A reader that
  // takes its time (a pager, a slow pipe) holds this command, which holds the daemon's read: nothing piles up here.
  const emit = (chunkLines: readonly OutputLine[]): Promise<void> =>
    writeLines(chunkLines, (task) => `${options.style.task(task.padEnd(width))} ${options.style.dim("|")} `, (stream, bytes) => view.print(stream, bytes));
  // Changes are applied together, up to the next output: a graph's hundreds of transitions are one redraw.
  let changes: SessionEvent[] = [];
  const applyChanges = (): void => {
    if (changes.length > 0) view.apply(changes);
    changes = [];
  };
  let quiet = false;
  // Only the open request: the result stream's records (few) stand in for "no stream records", which the call cannot ask for.
  async function* requests(): AsyncGenerator<MessageInitShape<typeof AttachSessionRequestSchema>> {
    yield { kind: { case: "open", value: { session: `sessions/${options.sessionId}`, streams: [RESULT_STREAM] } } };
  }
  for await (const message of options.client.bidiStream(SessionService.method.attachSession, requests(), { signal: options.signal })) {
    if (message.kind.case !== "events") continue;
    for (const { kind } of message.kind.value.events) {
      if (kind.case === "output") {
        applyChanges();
        await emit(lines.add(kind.value.run, kind.value.task, kind.value.stream === LogStream.STDERR, kind.value.data));
      } else if (kind.case === "change") {
        const run = kind.value.run;
        const rest = run !== undefined && isFinal(run.status) ? lines.rest(run.number) : [];
        if (rest.length > 0) {
          applyChanges();
          await emit(rest);
        }
        changes.push(kind.value);
        // An ended session is followed to the end of the call (`ended`): its services' stops come after its end.
        quiet = kind.value.status === SessionStatus.OPEN && kind.value.activity === SessionActivity.IDLE;
      }
    }
    applyChanges();
    // Everything stored so far has come, and the session was open and idle at its last change: all the output there will be until more input.
    if (message.kind.value.ended || (quiet && message.kind.value.caughtUp)) break;
  }
  await emit(lines.rest());
}

/**
 * Prints a started session's id (-d; with --wait, then returns once it is
 * ready, as compose up -d --wait: its main task a ready service or its graph
 * finished well, else exit 1 saying why, 124 past --timeout), or follows it
 * to its end: the CLI's exit code is the session's. `startedHow` ends the
 * first line.
 */
export async function followStarted(client: GrpcClient, session: Session, startedHow: string, following: StartFollowing): Promise<number> {
  const id = session.id;
  if (following.detach) {
    process.stdout.write(`${id}\n`);
    if (following.untilReady) await waitForSession(client, { name: session.name, timeout: following.timeout, untilReady: true }, id);
    return 0;
  }
  const style = createStyle(process.stderr);
  process.stderr.write(`${style.dim("tether")} session ${style.bold(id)} runs ${session.task}${startedHow}\n`);
  const detach = new AbortController();
  // Ctrl-C detaches, and so does a SIGTERM (`timeout 60 tether run ...`, a supervisor stopping the command):
  // killing the CLI never touches the session, and the command says how to find it again.
  let exitCode = 130;
  const onInterrupt = (): void => detach.abort();
  const onTerminate = (): void => {
    exitCode = 143;
    detach.abort();
  };
  process.once("SIGINT", onInterrupt);
  process.once("SIGTERM", onTerminate);
  try {
    await followSession({ client, sessionId: id, tasks: session.tasks, style, signal: detach.signal });
  } catch (error) {
    if (detach.signal.aborted) {
      // Ctrl-C: said below.
    } else if (error instanceof RpcError && error.code === UNAVAILABLE) {
      // The daemon stopped or died: "run the command again" would start another session.
      const why = error.detail?.reason === ErrorReason.DAEMON_SHUTTING_DOWN ? "the daemon was stopped while this command followed the session" : error.message;
      throw new CliError(
        `${why}\nsession ${id} is kept: a run that was live is recorded lost, and a retry waiting or a run yet to start goes on once a daemon runs again.\n  see it:          tether show ${id}\n  follow it again: tether attach ${id}`,
      );
    } else {
      throw error;
    }
  } finally {
    process.removeListener("SIGINT", onInterrupt);
    process.removeListener("SIGTERM", onTerminate);
  }
  if (detach.signal.aborted) {
    const how = exitCode === 143 ? "detached (SIGTERM)" : "detached";
    process.stderr.write(`\n${how}; session ${id} goes on.\n  follow it again: tether logs -f ${id}\n  see it:          tether show ${id}\n  cancel it:       tether cancel ${id}\n`);
    // 130 (143) as for any command Ctrl-C (SIGTERM) stops: a script's `tether run A && deploy` stops there too.
    return exitCode;
  }
  const final = (await client.unary(SessionService.method.getSession, { name: `sessions/${id}` })).session!;
  const outcome = final.error !== "" ? `: ${final.error}` : final.result !== "" ? `: ${resultShown(final.result, id)}` : "";
  const state = final.status === SessionStatus.OPEN ? "open (keep_open: it waits for more input)" : enumName(SessionStatus, final.status);
  process.stderr.write(`${style.dim("tether")} session ${id} ${state}, exit code ${final.exitCode}${outcome}\n`);
  return final.exitCode;
}

/** The most of a result the closing line shows: one line of a terminal or two. */
const RESULT_SHOWN_CHARS = 200;

/**
 * A session's result as its closing line shows it: whole when it is one
 * short line, else its first line cut to RESULT_SHOWN_CHARS and where the
 * whole is (a `result: stdout` task's result may be a megabyte of output,
 * which the line printed whole).
 */
function resultShown(result: string, id: string): string {
  const firstLine = result.split("\n", 1)[0]!;
  if (firstLine.length === result.length && result.length <= RESULT_SHOWN_CHARS) return result;
  return `${firstLine.slice(0, RESULT_SHOWN_CHARS)}… (${result.length} characters in all: tether show ${id})`;
}
