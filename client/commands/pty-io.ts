import { ExecStatus, type ExecExit } from "../../gen/tether/v1/exec_pb.js";
import { PtyService } from "../../gen/tether/v1/pty_service_pb.js";
import { formatMs } from "../../common/format.js";
import { CliError, usageError } from "../cli-error.js";
import { parseCommandLine } from "../command-line.js";
import { durationFlagMs, wholeNumberFlag } from "../flags.js";
import type { GrpcClient } from "../grpc-client.js";
import { inputOf, sendInPieces } from "../input-pieces.js";
import { untilFlag, type OutputUntil } from "../output-until.js";
import type { ClientPaths } from "../paths.js";
import { ReplayFilter } from "../replay-filter.js";
import { programModes } from "../terminal.js";
import { connectToDaemon } from "../transport.js";
import { writeChunk } from "../write-chunk.js";
import { PTY_USAGE } from "./pty.js";

// Reading a PTY's output and typing into it without attaching: pty read, pty send (a script's, an agent's).

/**
 * A PTY's output to stdout, as a watcher that is not attached (ReadPty):
 * bytes as the program wrote them into a pipe or file; on a terminal, its
 * modes first, none of the program's queries (as exec attach shows a
 * terminal exec), and the modes undone at the end. Exits with the
 * program's code once it has ended, 0 while it runs on.
 */
export async function readPty(args: string[], paths: ClientPaths): Promise<number> {
  const { values, positionals } = parseCommandLine({
    args,
    allowPositionals: true,
    options: { from: { type: "string" }, "no-follow": { type: "boolean", default: false }, until: { type: "string" }, idle: { type: "string" } },
  });
  if (positionals.length !== 1) throw usageError(PTY_USAGE, "tether pty read");
  const ends = { until: untilFlag(values.until), idleMs: idleFlag(values.idle) };
  const from = values.from === undefined ? undefined : wholeNumberFlag("--from", values.from, "a byte offset");
  const { client } = await connectToDaemon(paths);
  return followPty(client, { pty: positionals[0]!, fromOffset: from === undefined ? undefined : BigInt(from), noFollow: values["no-follow"] }, ends);
}

/** What ends a follow of a PTY's output before the PTY closes: a line that matches, a pause in its output. */
interface FollowEnds {
  readonly until: OutputUntil | undefined;
  readonly idleMs: number | undefined;
}

/** The `--idle` flag's duration in milliseconds, or undefined without it. */
function idleFlag(value: string | undefined): number | undefined {
  return value === undefined ? undefined : durationFlagMs("--idle", value);
}

/**
 * A PTY's output to stdout (ReadPty) from `request`'s offset (else the
 * replay), with its modes on a terminal and none of its queries, to its end,
 * or with `until` to a line that matches, or with `idleMs` to a pause that
 * long in its output (from the start when none comes): its exit code, 0 on
 * a match, a pause, or while it runs on; with both, a pause before the line
 * is `until`'s failure.
 */
async function followPty(client: GrpcClient, request: { pty: string; fromOffset: bigint | undefined; noFollow: boolean }, ends: FollowEnds): Promise<number> {
  const { until, idleMs } = ends;
  const stop = new AbortController();
  const interrupted = (): void => stop.abort();
  process.once("SIGINT", interrupted);
  // A pause: the timer runs again from each output, and ends the read as a match does.
  let idle = false;
  const pause = idleMs === undefined ? undefined : setTimeout(() => ((idle = true), stop.abort()), idleMs);
  const modes = programModes();
  const queries = process.stdout.isTTY === true ? new ReplayFilter(Infinity) : undefined;
  let exit: ExecExit | undefined;
  let matched = false;
  try {
    for await (const response of client.serverStream(PtyService.method.readPty, request, { signal: stop.signal, dataParts: true })) {
      const kind = response.kind;
      if (kind.case === "opened" && queries !== undefined) {
        process.stdout.write(kind.value.terminalModes);
        modes.seen(Buffer.from(kind.value.terminalModes));
      } else if (kind.case === "output") {
        pause?.refresh();
        // Read before the write takes the chunk's pieces.
        matched = until?.seen(0, kind.value.data) === true;
        await writeChunk(process.stdout, queries?.chunk(kind.value) ?? kind.value, modes.seen);
        if (matched) break;
      } else if (kind.case === "exit") exit = kind.value;
    }
  } catch (error) {
    if (!stop.signal.aborted) throw error;
  } finally {
    clearTimeout(pause);
    process.off("SIGINT", interrupted);
    modes.leave();
  }
  // With --until too, a pause is its time to give up: the line never came.
  if (idle && until !== undefined) throw until.notSeen(`pty ${request.pty}'s output paused for ${formatMs(idleMs!)}`);
  if (idle) return 0;
  if (stop.signal.aborted) return 130;
  if (until !== undefined && !matched) throw until.notSeen(exit === undefined ? `pty ${request.pty}'s output so far ends` : `pty ${request.pty} closed`);
  return matched || exit === undefined ? 0 : exitCodeOf(exit);
}

/** The program's exit code as the CLI exits with it: 1 when the daemon lost it (its end is unknown). */
export function exitCodeOf(exit: ExecExit): number {
  return exit.status === ExecStatus.LOST ? 1 : exit.exitCode;
}

/** `tether pty send P`: types into a PTY as keys would, by bytes or by key names; with --until or --idle, then prints what the program writes after it. */
export async function sendToPty(args: string[], paths: ClientPaths): Promise<number> {
  const { values: given, positionals } = parseCommandLine({
    args,
    allowPositionals: true,
    options: { enter: { type: "boolean", default: false }, line: { type: "boolean", default: false }, keys: { type: "boolean", short: "k", default: false }, until: { type: "string" }, idle: { type: "string" } },
  });
  const ends = { until: untilFlag(given.until), idleMs: idleFlag(given.idle) };
  const follows = ends.until !== undefined || ends.idleMs !== undefined;
  // --line as `tether send` and `exec send` take it: a line typed is ended by Enter.
  const values = { ...given, enter: given.enter || given.line };
  if (positionals.length < 2 && !(positionals.length === 1 && values.enter)) throw usageError(PTY_USAGE, "tether pty send");
  const [ref, ...words] = positionals as [string, ...string[]];
  if (values.keys && words.includes("-")) throw new CliError("-k types the words as keys; - (stdin) goes without -k", 2);
  // Enter is what the key sends: a carriage return.
  const data = values.keys ? undefined : await inputOf(words, values.enter ? "\r" : "");
  if (data?.byteLength === 0) throw new CliError("nothing to type: give TEXT, or - with bytes on stdin", 2);
  const { client } = await connectToDaemon(paths);
  // --until, --idle: what the program writes from here on, up to a line that matches (expect's send, then expect) or a pause.
  const before = !follows ? undefined : (await client.unary(PtyService.method.getPty, { pty: ref })).pty!;
  // Each word a key name or text, as tmux send-keys takes them; the daemon knows the form the program wants.
  if (data === undefined) await client.unary(PtyService.method.writePty, { pty: ref, keys: values.enter ? [...words, "Enter"] : words });
  else await sendInPieces(data, (piece) => client.unary(PtyService.method.writePty, { pty: ref, data: piece }));
  return before === undefined ? 0 : followPty(client, { pty: before.id, fromOffset: before.outputBytes, noFollow: false }, ends);
}
