import { parseCommandLine } from "../command-line.js";
import { StreamService } from "../../gen/tether/v1/stream_service_pb.js";
import { CliError } from "../cli-error.js";
import { durationFlagMs, parseTailFlag, wholeNumberFlag } from "../flags.js";
import type { ClientPaths } from "../paths.js";
import { printable, recordJson } from "../stream-data.js";
import { connectToDaemon } from "../transport.js";

export const READ_USAGE = `  tether read S STREAM [-f [--timeout 30s]] [--from SEQ | -n/--tail N] [--correlation ID] [-c/--count N] [--json]
                                              print a stream's records (-f: follow while the session is open;
                                              --tail: from the last N, 0: only new ones); --count: exit after
                                              N (as grep -m), a reply awaited: send --correlation C, then
                                              read -f --correlation C -c 1; --timeout: exit 124 if fewer came`;

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
      count: { type: "string", short: "c" },
      timeout: { type: "string" },
    },
  });
  if (positionals.length !== 2) throw new CliError(`usage:\n${READ_USAGE}`, 2);
  const count = values.count === undefined ? Infinity : wholeNumberFlag("--count", values.count, "a number of records, 1 or more", Number.MAX_SAFE_INTEGER);
  if (count === 0) throw new CliError('--count takes a number of records, 1 or more, got "0"', 2);
  if (values.timeout !== undefined && !values.follow) throw new CliError("--timeout is how long -f waits for records: add -f", 2);
  const timeoutMs = values.timeout === undefined ? undefined : durationFlagMs("--timeout", values.timeout);
  const from = wholeNumberFlag("--from", values.from ?? "1", "a record sequence (1 is the first)");
  const tailRecords = parseTailFlag(values.tail, values.from !== undefined, "records");
  const [session, stream] = positionals as [string, string];
  const { client } = await connectToDaemon(paths);
  const stop = new AbortController();
  process.once("SIGINT", () => stop.abort());
  let timedOut = false;
  const timer = timeoutMs === undefined ? undefined : setTimeout(() => ((timedOut = true), stop.abort()), timeoutMs);
  let printed = 0;
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
        if (++printed < count) continue;
        stop.abort();
        return 0;
      }
    }
  } catch (error) {
    if (timedOut) {
      process.stderr.write(`tether: ${count === Infinity ? "read" : `${printed} of ${count} record(s)`} by --timeout ${values.timeout}; the session goes on\n`);
      return 124;
    }
    if (stop.signal.aborted) return 130;
    throw error;
  } finally {
    clearTimeout(timer);
  }
  return 0;
}
