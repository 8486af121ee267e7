import { parseCommandLine } from "../command-line.js";
import { timestampDate, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { LogStream } from "../../gen/tether/v1/session_pb.js";
import { SessionService } from "../../gen/tether/v1/session_service_pb.js";
import { CliError } from "../cli-error.js";
import { parseSinceFlag, parseTailFlag, UINT32_MAX, wholeNumberFlag } from "../flags.js";
import { OutputStampers } from "../line-stamper.js";
import { untilFlag } from "../output-until.js";
import type { ClientPaths } from "../paths.js";
import { bytesJson } from "../bytes-json.js";
import { connectToDaemon } from "../transport.js";
import { writeChunk } from "../write-chunk.js";

export const LOGS_USAGE = `  tether logs S [-f] [--task T] [--run R] [--from OFFSET | -n/--tail N | --since 10m] [-t] [--json] [--until PATTERN]
                                              the runs' output (raw bytes; --json: one chunk per line with offsets);
                                              --tail: from the last N lines (0: only new output); --since: from what
                                              was stored that long ago or later (or since a date and time);
                                              -t/--timestamps: each line after the time it was stored;
                                              --until: up to a line the regular expression matches (exit 0;
                                              1 when the output ends without one), as exec attach`;

/** `tether logs`: the runs' output exactly as written, stdout to stdout and stderr to stderr. */
export async function logsCommand(args: string[], paths: ClientPaths): Promise<number> {
  const { values, positionals } = parseCommandLine({
    args,
    allowPositionals: true,
    options: {
      follow: { type: "boolean", short: "f", default: false },
      task: { type: "string", default: "" },
      run: { type: "string", default: "0" },
      from: { type: "string" },
      tail: { type: "string", short: "n" },
      timestamps: { type: "boolean", short: "t", default: false },
      json: { type: "boolean", default: false },
      until: { type: "string" },
      since: { type: "string" },
    },
  });
  if (positionals.length !== 1) throw new CliError(`usage:\n${LOGS_USAGE}`, 2);
  const until = untilFlag(values.until);
  const run = wholeNumberFlag("--run", values.run, "a run number", UINT32_MAX);
  const from = wholeNumberFlag("--from", values.from ?? "0", "a byte offset");
  const tailLines = parseTailFlag(values.tail, values.from !== undefined, "lines");
  const sinceMs = parseSinceFlag(values.since, values.from !== undefined || values.tail !== undefined);
  const { client } = await connectToDaemon(paths);
  const abort = new AbortController();
  process.once("SIGINT", () => abort.abort());
  const request = { name: `sessions/${positionals[0]}`, run, task: values.task, fromOffset: BigInt(from), tailLines, follow: values.follow, since: sinceMs === undefined ? undefined : timestampFromMs(sinceMs) };
  const stampers = new OutputStampers();
  try {
    for await (const message of client.serverStream(SessionService.method.readSessionLogs, request, { signal: abort.signal })) {
      for (const c of message.chunks) {
        const stream = c.stream === LogStream.STDERR ? "stderr" : "stdout";
        // A reader that takes its time (a pager, a slow pipe) holds this command, which holds the daemon's read, as exec attach does.
        if (values.json) {
          const time = c.createTime === undefined ? "" : timestampDate(c.createTime).toISOString();
          await writeChunk(process.stdout, { data: Buffer.from(`${JSON.stringify({ run: c.run, task: c.task, stream, offset: Number(c.offset), log_offset: Number(c.logOffset), time, ...bytesJson("data", c.data) })}\n`) });
        } else {
          await writeChunk(process[stream], { data: values.timestamps ? stampers.stamp(stream, c.data, c.createTime) : c.data });
        }
        // Each run's stdout and stderr are lines of their own.
        if (until?.seen(c.run * 2 + (c.stream === LogStream.STDERR ? 1 : 0), c.data) === true) return 0;
      }
    }
  } catch (error) {
    if (abort.signal.aborted) return 130;
    throw error;
  }
  if (until !== undefined) throw until.notSeen(values.follow ? `session ${positionals[0]!}'s output ended` : `session ${positionals[0]!}'s output so far ends`);
  return 0;
}
