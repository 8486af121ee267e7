import { parseCommandLine } from "../command-line.js";
import { StreamService } from "../../gen/tether/v1/stream_service_pb.js";
import { CliError, whenTimedOut } from "../cli-error.js";
import { parseDurationFlag } from "../flags.js";
import type { ClientPaths } from "../paths.js";
import { printable, recordJson, runContext } from "../stream-data.js";
import { connectToDaemon } from "../transport.js";

export const WAIT_USAGE = `  tether wait STREAM [--correlation ID] [--timeout 30m] [--peek] [--json]
                                              (in a run) block until a record arrives on an input stream, take it and print it`;

/** `tether wait`: from inside a run, take the next matching record of an input stream. */
export async function waitCommand(args: string[], paths: ClientPaths): Promise<number> {
  const { values, positionals } = parseCommandLine({
    args,
    allowPositionals: true,
    options: {
      correlation: { type: "string", default: "" },
      timeout: { type: "string" },
      peek: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
    },
  });
  if (positionals.length !== 1) throw new CliError(`usage:\n${WAIT_USAGE}`, 2);
  const { session, run } = runContext("wait", "tether read takes a stream's records; tether show S --wait waits for a session's outcome, tether exec wait E for an exec's end");
  const { client } = await connectToDaemon(paths);
  let record;
  try {
    ({ record } = await client.unary(StreamService.method.waitForInput, {
      session: `sessions/${session}`,
      run,
      stream: positionals[0]!,
      correlationId: values.correlation,
      peek: values.peek,
      ...(values.timeout !== undefined ? { timeout: parseDurationFlag("--timeout", values.timeout) } : {}),
    }));
  } catch (error) {
    throw whenTimedOut(error);
  }
  process.stdout.write(values.json ? `${recordJson(record!)}\n` : printable(record!.data));
  return 0;
}
