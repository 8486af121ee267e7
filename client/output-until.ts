import { StringDecoder } from "node:string_decoder";
import { CliError } from "./cli-error.js";

/** How much of a line without its newline yet is kept to match: a longer one is matched by its end. */
const PARTIAL_LINE_MAX = 64 * 1024;

/** A terminal's escape sequences (colours, cursor moves, titles), which a prompt's text is written between. */
const ESCAPES = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]/g;

/**
 * `--until PATTERN` of the commands that follow output (`exec attach`,
 * `pty read`, `logs -f`): whether the output read so far holds a line the
 * pattern (a JavaScript regular expression) matches, each stream's lines
 * apart, as `grep -m1` would stop, but without waiting for more output to
 * learn that its reader has gone. The line being written counts before its
 * newline comes (a prompt waits there). Lines are read as UTF-8 without their
 * terminal escapes, a `\r` before the newline dropped.
 */
export class OutputUntil {
  private readonly streams = new Map<number, { decoder: StringDecoder; partial: string }>();

  constructor(readonly pattern: RegExp) {}

  /** Whether `data`, the next output of `stream`, completes or holds a matching line. */
  seen(stream: number, data: Uint8Array): boolean {
    let state = this.streams.get(stream);
    if (state === undefined) this.streams.set(stream, (state = { decoder: new StringDecoder("utf8"), partial: "" }));
    const lines = (state.partial + state.decoder.write(Buffer.from(data.buffer, data.byteOffset, data.byteLength))).split("\n");
    state.partial = lines.pop()!.slice(-PARTIAL_LINE_MAX);
    return [...lines, state.partial].some((line) => this.pattern.test(line.replace(ESCAPES, "").replace(/\r$/, "")));
  }

  /** What the command says when the output ended with no such line. */
  notSeen(what: string): CliError {
    return new CliError(`${what} without a line matching ${this.pattern}`, 1);
  }
}

/** The `--until` flag's pattern, or a usage error saying what is wrong with it. */
export function untilFlag(value: string | undefined): OutputUntil | undefined {
  if (value === undefined) return undefined;
  try {
    return new OutputUntil(new RegExp(value));
  } catch (error) {
    throw new CliError(`--until takes a regular expression: ${(error as Error).message}`, 2);
  }
}
