import { create } from "@bufbuild/protobuf";
import { ExecQueueSchema, ExecService, type ExecQueue } from "../../gen/tether/v1/exec_service_pb.js";
import { CliError, usageError } from "../cli-error.js";
import { parseCommandLine } from "../command-line.js";
import { UINT32_MAX, wholeNumberFlag } from "../flags.js";
import { printTable } from "../../common/format.js";
import type { GrpcClient } from "../grpc-client.js";
import type { ClientPaths } from "../paths.js";
import { connectToDaemon } from "../transport.js";
import { EXEC_USAGE } from "./exec.js";

/**
 * `tether exec queue [Q [--parallel N] [--pause | --resume] [--reset]] [--json]`:
 * the exec queues (pueue status's groups), or one's settings changed (pueue
 * parallel, pause --wait, start, group remove).
 */
export async function execQueues(args: string[], paths: ClientPaths): Promise<number> {
  const { values, positionals } = parseCommandLine({
    args,
    allowPositionals: true,
    options: {
      parallel: { type: "string" },
      pause: { type: "boolean", default: false },
      resume: { type: "boolean", default: false },
      reset: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
    },
  });
  const changes = values.parallel !== undefined || values.pause || values.resume || values.reset;
  if (positionals.length > 1 || (changes && positionals.length === 0)) throw usageError(EXEC_USAGE, "tether exec queue");
  if (values.pause && values.resume) throw new CliError("--pause and --resume undo each other: give one", 2);
  if (values.reset && (values.parallel !== undefined || values.pause || values.resume)) throw new CliError("--reset forgets the queue's settings (one at a time, resumed): give it alone", 2);
  const parallel = values.parallel === undefined ? 0 : parseParallel(values.parallel);
  const { client } = await connectToDaemon(paths);
  const name = positionals[0];
  let queues: ExecQueue[];
  if (values.reset) queues = [(await client.unary(ExecService.method.deleteExecQueue, { name: name! })).queue!];
  else if (changes) queues = [(await client.unary(ExecService.method.updateExecQueue, { name: name!, parallel, paused: values.pause ? true : values.resume ? false : undefined })).queue!];
  else queues = await listed(client, name);
  if (values.json) {
    process.stdout.write(`${JSON.stringify(queues.map((q) => ({ name: q.name, parallel: q.parallel, paused: q.paused, running: q.running, queued: q.queued })))}\n`);
    return 0;
  }
  if (queues.length === 0) {
    process.stdout.write("no queue has execs or runs running or waiting, or settings: tether exec WS --queue Q -- CMD runs CMD in queue Q, as a task's queue: Q runs its runs\n");
    return 0;
  }
  printTable(
    ["QUEUE", "PARALLEL", "STATE", "RUNNING", "QUEUED"],
    queues.map((q) => [q.name, String(q.parallel), q.paused ? "paused" : "active", String(q.running), String(q.queued)]),
  );
  return 0;
}

/** Every queue, or the one named (one no exec has used and no one set: the daemon's default, one at a time, as ExecStart.queue says). */
async function listed(client: GrpcClient, name: string | undefined): Promise<ExecQueue[]> {
  const all = (await client.unary(ExecService.method.listExecQueues, {})).queues;
  if (name === undefined) return all;
  return [all.find((q) => q.name === name) ?? create(ExecQueueSchema, { name, parallel: 1 })];
}

/** `--parallel N`: a whole number from 1 (past 1000 the daemon says its limit; past a uint32, which protobuf would refuse in its words, this does). */
function parseParallel(value: string): number {
  const takes = "how many of the queue's execs run at once, a whole number from 1";
  const parallel = wholeNumberFlag("--parallel", value, takes, UINT32_MAX);
  if (parallel === 0) throw new CliError(`--parallel takes ${takes}, got ${JSON.stringify(value)}`, 2);
  return parallel;
}
