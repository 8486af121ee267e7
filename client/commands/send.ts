import { parseCommandLine } from "../command-line.js";
import { StreamService } from "../../gen/tether/v1/stream_service_pb.js";
import { CliError } from "../cli-error.js";
import type { ClientPaths } from "../paths.js";
import { guessContentType, readAllStdin, recordJson } from "../stream-data.js";
import { connectToDaemon } from "../transport.js";

export const SEND_USAGE = `  tether send S STREAM DATA [--line] [--correlation ID] [--idempotency-key K] [--content-type T] [--json]
                                              append a record to an input stream (DATA - reads stdin;
                                              --line adds a newline, as a process fed the stdin stream reads lines)`;

/** `tether send`: one record to an input stream; acknowledged once durable. */
export async function sendCommand(args: string[], paths: ClientPaths): Promise<number> {
  const { values, positionals } = parseCommandLine({
    args,
    allowPositionals: true,
    options: {
      correlation: { type: "string", default: "" },
      "idempotency-key": { type: "string", default: "" },
      "content-type": { type: "string" },
      line: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
    },
  });
  if (positionals.length !== 3) throw new CliError(`usage:\n${SEND_USAGE}`, 2);
  const [session, stream, arg] = positionals as [string, string, string];
  const given = arg === "-" ? await readAllStdin({ instead: `tether attach ${session} --input ${stream} < FILE sends one per line` }) : Buffer.from(arg);
  const data = values.line ? Buffer.concat([given, Buffer.from("\n")]) : given;
  const { client } = await connectToDaemon(paths);
  const { record, duplicate } = await client.unary(StreamService.method.sendInput, {
    session: `sessions/${session}`,
    stream,
    data,
    contentType: values["content-type"] ?? guessContentType(data),
    correlationId: values.correlation,
    idempotencyKey: values["idempotency-key"],
  });
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ duplicate, record: JSON.parse(recordJson(record!)) })}\n`);
  } else if (duplicate) {
    process.stderr.write(`${stream} record ${record!.sequence} was already sent with key ${values["idempotency-key"]}: nothing appended\n`);
  } else {
    process.stderr.write(`sent ${stream} record ${record!.sequence}\n`);
  }
  return 0;
}
