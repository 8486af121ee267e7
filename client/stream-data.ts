import { type StreamRecord } from "../gen/tether/v1/stream_pb.js";
import { RECORD_MAX_BYTES } from "../common/record-limits.js";
import { CliError } from "./cli-error.js";

/** Every session's built-in input stream. */
export const STDIN_STREAM = "stdin";
/** Every session's built-in output stream. */
export const RESULT_STREAM = "result";

/** The content type a record typed on the command line gets: JSON when it parses as JSON, text when it is UTF-8, bytes otherwise. */
export function guessContentType(data: Uint8Array): string {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(data);
  } catch {
    return "application/octet-stream";
  }
  try {
    JSON.parse(text);
    return "application/json";
  } catch {
    return "text/plain";
  }
}

/** The session a command inside a run talks about: TETHER_SESSION and TETHER_RUN, set for every run. */
export function runContext(command: string, outside = "use tether send and tether read"): { session: string; run: number } {
  const session = process.env["TETHER_SESSION"] ?? "";
  const run = Number(process.env["TETHER_RUN"] ?? "");
  if (session === "" || !Number.isInteger(run) || run <= 0) {
    throw new CliError(`tether ${command} runs inside a task (it needs TETHER_SESSION and TETHER_RUN, which tether sets for every run); from outside, ${outside}`, 2);
  }
  return { session, run };
}

/** A record as one JSON line (--json): text data as text, other data as base64. */
export function recordJson(record: StreamRecord): string {
  const text = record.contentType.startsWith("text/") || record.contentType.includes("json");
  return JSON.stringify({
    stream: record.stream,
    sequence: Number(record.sequence),
    content_type: record.contentType,
    correlation_id: record.correlationId,
    idempotency_key: record.idempotencyKey,
    create_time: record.createTime === undefined ? undefined : new Date(Number(record.createTime.seconds) * 1000 + record.createTime.nanos / 1e6).toISOString(),
    ...(text ? { text: Buffer.from(record.data).toString("utf8") } : { data: Buffer.from(record.data).toString("base64") }),
  });
}

/** A record's data as printed: the bytes, with a newline added when they do not end in one. */
export function printable(data: Uint8Array): Buffer {
  const buffer = Buffer.from(data);
  return buffer.length > 0 && buffer[buffer.length - 1] === 0x0a ? buffer : Buffer.concat([buffer, Buffer.from("\n")]);
}

/**
 * All of stdin, for `-` as DATA; with `record`, as one record's data:
 * refused once more than RECORD_MAX_BYTES have come, saying `instead` (how to
 * send it as several records), without reading the rest into memory.
 */
export async function readAllStdin(record?: { readonly instead: string }): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of process.stdin) {
    chunks.push(chunk as Buffer);
    bytes += (chunk as Buffer).byteLength;
    if (record !== undefined && bytes > RECORD_MAX_BYTES) {
      process.stdin.destroy();
      throw new CliError(`stdin holds more than ${RECORD_MAX_BYTES / 1024 / 1024} MiB, the most one record takes: split it into several records (${record.instead})`, 1);
    }
  }
  return Buffer.concat(chunks);
}

/**
 * The lines of `input`, without their newlines, in groups: the complete
 * lines of each chunk read (what a pipe or a terminal had ready), at most
 * `maxRecords` lines or `maxBytes` per group. A last line without a newline
 * comes last, alone.
 */
export async function* lineGroups(input: AsyncIterable<Buffer>, maxRecords: number, maxBytes: number): AsyncGenerator<Buffer[]> {
  let carry = Buffer.alloc(0);
  for await (const chunk of input) {
    const data = carry.length > 0 ? Buffer.concat([carry, chunk]) : chunk;
    let group: Buffer[] = [];
    let bytes = 0;
    let start = 0;
    for (let nl = data.indexOf(0x0a); nl >= 0; nl = data.indexOf(0x0a, start)) {
      const line = data.subarray(start, nl);
      group.push(line);
      bytes += line.length;
      start = nl + 1;
      if (group.length >= maxRecords || bytes >= maxBytes) {
        yield group;
        group = [];
        bytes = 0;
      }
    }
    if (group.length > 0) yield group;
    carry = Buffer.from(data.subarray(start));
  }
  if (carry.length > 0) yield [carry];
}
