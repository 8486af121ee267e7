import { parseCommandLine } from "../command-line.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { LogStream, RunStatus, SessionActivity, SessionStatus, type SessionEvent } from "../../gen/tether/v1/session_pb.js";
import { SessionService, type AttachEvent, type AttachSessionRequestSchema } from "../../gen/tether/v1/session_service_pb.js";
import { StreamDirection, type SessionStream } from "../../gen/tether/v1/stream_pb.js";
import { meantThen } from "../../common/closest-word.js";
import { CliError, whenDaemonStopped } from "../cli-error.js";
import { enumName } from "../enum-names.js";
import { bytesJson } from "../bytes-json.js";
import { OutputLines, prefixed, type OutputLine } from "../output-lines.js";
import type { ClientPaths } from "../paths.js";
import { isFinal } from "../progress-view.js";
import { STDIN_STREAM, guessContentType, lineGroups, printable, recordJson } from "../stream-data.js";
import { createStyle, type Style } from "../style.js";
import { connectToDaemon } from "../transport.js";
import { wholeNumberFlag } from "../flags.js";

export const ATTACH_USAGE = `  tether attach S [--from POS] [--input STREAM] [--stream NAME ...] [--no-output] [--json]
                                              the session live: changes, output, stream records; lines typed
                                              on stdin go to --input (default stdin); Ctrl-C detaches`;

type Request = MessageInitShape<typeof AttachSessionRequestSchema>;

/** One AttachInputs carries at most this many lines, or this many bytes (well under the 16 MiB message limit). */
export const INPUT_BATCH_RECORDS = 1024;
const INPUT_BATCH_BYTES = 1024 * 1024;
const NEWLINE = Buffer.from("\n");

/**
 * `tether attach`: one ordered view of everything the session records, from
 * the start (or --from), then live until it ends; meanwhile each line read
 * from stdin is sent to an input stream. Many clients may attach at once;
 * each sees the same events in the same order. Exits with the session's exit
 * code when it ends, 130 when detached with Ctrl-C.
 */
export async function attachCommand(args: string[], paths: ClientPaths): Promise<number> {
  const { values, positionals } = parseCommandLine({
    args,
    allowPositionals: true,
    options: {
      from: { type: "string", default: "0" },
      input: { type: "string", default: STDIN_STREAM },
      stream: { type: "string", multiple: true, default: [] },
      "no-output": { type: "boolean", default: false },
      json: { type: "boolean", default: false },
    },
  });
  if (positionals.length !== 1) throw new CliError(`usage:\n${ATTACH_USAGE}`, 2);
  const from = wholeNumberFlag("--from", values.from, "a position (as printed by --json, or on detach)");
  const session = positionals[0]!;
  const { client } = await connectToDaemon(paths);
  const stop = new AbortController();
  process.once("SIGINT", () => stop.abort());

  const inputStream = values.input;
  let ref = 0n;
  async function* requests(): AsyncGenerator<Request> {
    yield { kind: { case: "open", value: { session: `sessions/${session}`, fromPosition: BigInt(from), streams: values.stream, withoutOutput: values["no-output"] } } };
    // The lines of one read go in one message: a pipe's thousands of lines cost a few messages, not thousands.
    for await (const lines of lineGroups(process.stdin, INPUT_BATCH_RECORDS, INPUT_BATCH_BYTES)) {
      const inputs = lines.map((line) => ({
        stream: inputStream,
        // The stdin stream feeds a process: it gets the line as typed, newline included.
        data: inputStream === STDIN_STREAM ? Buffer.concat([line, NEWLINE]) : line,
        contentType: guessContentType(line),
        clientRef: ++ref,
      }));
      yield { kind: { case: "inputs", value: { inputs } } };
    }
    // Ctrl-D at a terminal: say what it did, and did not do (a keep_open session's next run would take an empty record as its EOF).
    if (process.stdin.isTTY && !values.json) {
      process.stderr.write(`tether: stdin ended: nothing more is sent, attach goes on; Ctrl-C detaches (tether send ${session} stdin '' closes a run's stdin)\n`);
    }
  }

  const printer = new EventPrinter(createStyle(process.stdout), values.json);
  let sessionId = session;
  let position = from;
  let ended = false;
  try {
    for await (const message of client.bidiStream(SessionService.method.attachSession, requests(), { signal: stop.signal })) {
      switch (message.kind.case) {
        case "opened":
          sessionId = message.kind.value.session?.id ?? session;
          refuseUnknownInput(message.kind.value.session?.streams ?? [], inputStream, sessionId);
          if (!values.json) process.stderr.write(`${printer.style.dim("tether")} attached to ${sessionId}; lines you type go to its ${inputStream} stream; Ctrl-C detaches\n`);
          break;
        case "events":
          for (const event of message.kind.value.events) {
            position = Number(event.position);
            await printer.print(event);
          }
          ended ||= message.kind.value.ended;
          break;
        case "answers":
          for (const answer of message.kind.value.answers) {
            if (answer.kind.case === "accepted" && answer.kind.value.duplicate && !values.json) process.stderr.write(`tether: that ${inputStream} record was already sent: nothing appended\n`);
            if (answer.kind.case === "rejected") process.stderr.write(`tether: not sent: ${answer.kind.value.message}\n`);
          }
          break;
      }
    }
  } catch (error) {
    if (!stop.signal.aborted) {
      throw whenDaemonStopped(error, `this command was attached to session ${sessionId}: tether show ${sessionId} says what became of it; tether attach ${sessionId} --from ${position + 1} goes on from here`);
    }
  } finally {
    process.stdin.destroy();
  }
  printer.flush();
  if (!ended) {
    process.stderr.write(`\ntether: detached from ${sessionId}; it goes on. Reattach from here with: tether attach ${sessionId} --from ${position + 1}\n`);
    return 130;
  }
  const { session: final } = await client.unary(SessionService.method.getSession, { name: `sessions/${sessionId}` });
  if (!values.json) process.stderr.write(`${printer.style.dim("tether")} session ${sessionId} ${enumName(SessionStatus, final!.status)} (exit code ${final!.exitCode})\n`);
  return final!.exitCode;
}

/** Prints attach events: one line per change or record, output with a task prefix per line; or JSON lines. */
class EventPrinter {
  private readonly lines = new OutputLines();

  constructor(
    readonly style: Style,
    private readonly json: boolean,
  ) {}

  async print(event: AttachEvent): Promise<void> {
    const out = this.json ? `${this.jsonLine(event)}\n` : this.text(event);
    if (out !== "" && !process.stdout.write(out)) await new Promise((resolve) => process.stdout.once("drain", resolve));
  }

  /** Writes what is left of lines without a newline. */
  flush(): void {
    for (const line of this.lines.rest()) this.line(line);
  }

  private text(event: AttachEvent): string {
    const tag = this.style.dim("tether");
    switch (event.kind.case) {
      case "change": {
        // A run's output comes before its end in the one ordered sequence: its last line without a newline is complete then.
        const run = event.kind.value.run;
        if (run !== undefined && isFinal(run.status)) for (const line of this.lines.rest(run.number)) this.line(line);
        return `${tag} ${describeChange(event.kind.value)}\n`;
      }
      case "record": {
        const r = event.kind.value;
        const correlation = r.correlationId === "" ? "" : ` ${r.correlationId}`;
        return `${this.style.bold(`${r.stream}#${r.sequence}${correlation}`)} ${printable(r.data).toString("utf8")}`;
      }
      case "output": {
        const chunk = event.kind.value;
        for (const line of this.lines.add(chunk.run, chunk.task, chunk.stream === LogStream.STDERR, chunk.data)) this.line(line);
        return "";
      }
      default:
        return "";
    }
  }

  private line(line: OutputLine): void {
    (line.stderr ? process.stderr : process.stdout).write(prefixed(`${this.style.task(line.task)} ${this.style.dim("|")} `, line.bytes));
  }

  private jsonLine(event: AttachEvent): string {
    const position = Number(event.position);
    switch (event.kind.case) {
      case "change": {
        const e = event.kind.value;
        return JSON.stringify({ position, change: { status: enumName(SessionStatus, e.status), activity: enumName(SessionActivity, e.activity), reason: e.reason, run: e.run === undefined ? undefined : { number: e.run.number, task: e.run.task, attempt: e.run.attempt, status: enumName(RunStatus, e.run.status), reason: e.run.reason } } });
      }
      case "record":
        return JSON.stringify({ position, record: JSON.parse(recordJson(event.kind.value)) });
      case "output": {
        const c = event.kind.value;
        return JSON.stringify({ position, output: { run: c.run, task: c.task, stream: c.stream === LogStream.STDERR ? "stderr" : "stdout", offset: Number(c.offset), ...bytesJson("text", c.data) } });
      }
      default:
        return JSON.stringify({ position });
    }
  }
}

function describeChange(e: SessionEvent): string {
  if (e.run !== undefined) return `${e.run.task} (run ${e.run.number}) ${enumName(RunStatus, e.run.status)}${e.run.reason === "" ? "" : `: ${e.run.reason}`}`;
  return `session ${enumName(SessionStatus, e.status)}, ${enumName(SessionActivity, e.activity)}${e.reason === "" ? "" : `: ${e.reason}`}`;
}

/** `--input STREAM` names none of the session's input streams: refused at once (exit 2), not line by line. */
function refuseUnknownInput(streams: readonly SessionStream[], input: string, sessionId: string): void {
  const inputs = streams.filter((s) => s.direction === StreamDirection.INPUT).map((s) => s.name);
  if (inputs.length === 0 || inputs.includes(input)) return;
  throw new CliError(`session ${sessionId} has no input stream ${JSON.stringify(input)} for --input: ${meantThen(input, inputs, `its input streams are ${inputs.join(", ")}`)}`, 2);
}
