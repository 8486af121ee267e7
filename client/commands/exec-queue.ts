import { create } from "@bufbuild/protobuf";
import { ExecQueueSchema, ExecService, type ExecQueue } from "../../gen/tether/v1/exec_service_pb.js";
import { CliError, usageError } from "../cli-error.js";
import { parseCommandLine } from "../command-line.js";
import { printTable } from "../../common/format.js";
import type { ClientPaths } from "../paths.js";
import { connectToDaemon } from "../transport.js";
import { EXEC_USAGE } from "./exec.js";

/** `tether exec queue [Q --parallel N] [--json]`: the exec queues (pueue status's groups), or one's limit set (pueue parallel). */
export async function execQueues(args: string[], paths: ClientPaths): Promise<number> {
  const { values, positionals } = parseCommandLine({ args, allowPositionals: true, options: { parallel: { type: "string" }, json: { type: "boolean", default: false } } });
  if (positionals.length > 1 || (values.parallel !== undefined && positionals.length === 0)) throw usageError(EXEC_USAGE, "tether exec queue");
  const { client } = await connectToDaemon(paths);
  let queues: ExecQueue[];
  if (values.parallel !== undefined) {
    if (!/^\d+$/.test(values.parallel)) throw new CliError(`--parallel takes how many of the queue's execs run at once, a whole number from 1, got ${JSON.stringify(values.parallel)}`, 2);
    const { queue } = await client.unary(ExecService.method.updateExecQueue, { name: positionals[0]!, parallel: Number(values.parallel) });
    queues = [queue!];
  } else {
    const all = (await client.unary(ExecService.method.listExecQueues, {})).queues;
    const name = positionals[0];
    // A queue no exec has used yet and no limit was set for: the daemon's default, one at a time (ExecStart.queue).
    queues = name === undefined ? all : [all.find((q) => q.name === name) ?? create(ExecQueueSchema, { name, parallel: 1 })];
  }
  if (values.json) {
    process.stdout.write(`${JSON.stringify(queues.map((q) => ({ name: q.name, parallel: q.parallel, running: q.running, queued: q.queued })))}\n`);
    return 0;
  }
  if (queues.length === 0) {
    process.stdout.write("no exec queue has execs running or waiting, or a limit set: tether exec WS --queue Q -- CMD runs CMD in queue Q\n");
    return 0;
  }
  printTable(["QUEUE", "PARALLEL", "RUNNING", "QUEUED"], queues.map((q) => [q.name, String(q.parallel), String(q.running), String(q.queued)]));
  return 0;
}
