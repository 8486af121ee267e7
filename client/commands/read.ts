import { parseCommandLine } from "../command-line.js";
import { StreamService } from "../../gen/tether/v1/stream_service_pb.js";
import { CliError } from "../cli-error.js";
import { parseTailFlag, wholeNumberFlag } from "../flags.js";
import type { ClientPaths } from "../paths.js";
import { printable, recordJson } from "../stream-data.js";
import { connectToDaemon } from "../transport.js";

export const READ_USAGE = `  tether read S STREAM [-f] [--from SEQ | -n/--tail N] [--correlation ID] [--json]
                                              print a stream's records (-f: follow while the session is open;
                                              --tail: from the last N, 0: only new ones)`;

/** `tether read`: a stream's records, one per line (or as JSON lines); never takes a record. */
export async function readCommand(args: string[], paths: ClientPaths): Promise<number> {
  const { values, positionals } = parseCommandLine({
    args,
    allowPositionals: true,
    options: {
      follow: { type: "boolean", short: "f", default: false },
      from: { type: "string" },
      tail: { type: "string", short: "n" },
      correlation: { type: "string", default: "" },
      json: { type: "boolean", default: false },
    },
  });
  if (positionals.length !== 2) throw new CliError(`usage:\n${READ_USAGE}`, 2);
  const from = wholeNumberFlag("--from", values.from ?? "1", "a record sequence (1 is the first)");
  const tailRecords = parseTailFlag(values.tail, values.from !== undefined, "records");
  const [session, stream] = positionals as [string, string];
  const { client } = await connectToDaemon(paths);
  const stop = new AbortController();
  process.once("SIGINT", () => stop.abort());
  const messages = client.serverStream(
    StreamService.method.readStream,
    { session: `sessions/${session}`, stream, fromSequence: BigInt(from), tailRecords, follow: values.follow, correlationId: values.correlation },
    { signal: stop.signal },
  );
  try {
    for await (const message of messages) {
      for (const record of message.records) {
        const line = values.json ? Buffer.from(`${recordJson(record)}\n`) : printable(record.data);
        if (!process.stdout.write(line)) await new Promise((resolve) => process.stdout.once("drain", resolve));
      }
    }
  } catch (error) {
    if (stop.signal.aborted) return 130;
    throw error;
  }
  return 0;
}
