import { parseCommandLine } from "../command-line.js";
import { StreamService } from "../../gen/tether/v1/stream_service_pb.js";
import { CliError } from "../cli-error.js";
import type { GrpcClient } from "../grpc-client.js";
import type { ClientPaths } from "../paths.js";
import { guessContentType, lineGroups, readAllStdin, runContext } from "../stream-data.js";
import { connectToDaemon } from "../transport.js";

export const OUTPUT_USAGE = `  tether output STREAM DATA [--content-type T] [--correlation ID]
  ... | tether output STREAM --lines           (in a run) append a record, or one record per line of stdin`;

/** One WriteOutput carries at most this many records... */
export const BATCH_RECORDS = 4096;
/** ...or this many bytes: well under the 16 MiB message limit. */
const BATCH_BYTES = 1024 * 1024;

/** `tether output`: from inside a run, append records to an output stream of its session. */
export async function outputCommand(args: string[], paths: ClientPaths): Promise<number> {
  const { values, positionals } = parseCommandLine({
    args,
    allowPositionals: true,
    options: {
      lines: { type: "boolean", default: false },
      "content-type": { type: "string" },
      correlation: { type: "string", default: "" },
    },
  });
  const { session, run } = runContext("output");
  if (values.lines ? positionals.length !== 1 : positionals.length !== 2) throw new CliError(`usage:\n${OUTPUT_USAGE}`, 2);
  const stream = positionals[0]!;
  const { client } = await connectToDaemon(paths);
  const target = { session: `sessions/${session}`, run, stream };
  if (!values.lines) {
    const data = positionals[1] === "-" ? await readAllStdin({ instead: `tether output ${stream} --lines writes one per line` }) : Buffer.from(positionals[1]!);
    const contentType = values["content-type"] ?? guessContentType(data);
    await client.unary(StreamService.method.writeOutput, { ...target, records: [{ data, contentType, correlationId: values.correlation }] });
    return 0;
  }
  await writeLines(client, target, values["content-type"] ?? "text/plain", values.correlation);
  return 0;
}

/**
 * Streams stdin as one record per line (without its newline) in batches,
 * reading the next batch while the previous one is being committed. One
 * batch is in flight at a time, so records keep their order.
 */
async function writeLines(client: GrpcClient, target: { session: string; run: number; stream: string }, contentType: string, correlationId: string): Promise<void> {
  let batch: Buffer[] = [];
  let batchBytes = 0;
  let inFlight: Promise<unknown> = Promise.resolve();
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    const records = batch.map((data) => ({ data, contentType, correlationId }));
    batch = [];
    batchBytes = 0;
    await inFlight;
    inFlight = client.unary(StreamService.method.writeOutput, { ...target, records });
    // Surface a failure at once rather than after reading all of stdin.
    inFlight.catch(() => undefined);
  };
  for await (const lines of lineGroups(process.stdin, BATCH_RECORDS, BATCH_BYTES)) {
    for (const line of lines) {
      batch.push(line);
      batchBytes += line.length;
      if (batch.length >= BATCH_RECORDS || batchBytes >= BATCH_BYTES) await flush();
    }
  }
  await flush();
  await inFlight;
}
