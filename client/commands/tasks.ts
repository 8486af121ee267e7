import { escapeControls } from "../../common/format.js";
import { parseCommandLine } from "../command-line.js";
import { toJson, type JsonObject } from "@bufbuild/protobuf";
import { durationMs } from "@bufbuild/protobuf/wkt";
import { ErrorReason } from "../../gen/tether/v1/errors_pb.js";
import { StreamDirection } from "../../gen/tether/v1/stream_pb.js";
import { TaskInputType, TaskSchema, TaskWhen, type Task } from "../../gen/tether/v1/task_pb.js";
import { TaskService } from "../../gen/tether/v1/task_service_pb.js";
import { enumName } from "../enum-names.js";
import type { ClientPaths } from "../paths.js";
import { commandLine, formatBytes, formatMs } from "../../common/format.js";
import { createStyle } from "../style.js";
import { DEFAULT_TASK, findTaskFile } from "../task-file.js";
import { WorkspaceService } from "../../gen/tether/v1/workspace_service_pb.js";
import { RpcError, type GrpcClient } from "../grpc-client.js";
import { connectToDaemon } from "../transport.js";

export const TASKS_USAGE = `  tether tasks [--file F] [--json]            the task file's tasks, their inputs and the graph`;

/**
 * A task as `--json` prints it: the API's Task message with its proto field
 * names (snake_case, as every other listing's keys), its input types and
 * stream directions in the words the table uses ("choice", "input"), its
 * when: as the task file spells it ("on_failure").
 */
export function taskJson(task: Task): JsonObject {
  const json = toJson(TaskSchema, task, { useProtoFieldName: true }) as JsonObject;
  if (task.inputs.length > 0) json["inputs"] = (json["inputs"] as JsonObject[]).map((input, i) => ({ ...input, type: enumName(TaskInputType, task.inputs[i]!.type) }));
  // As the task file spells it (on_failure).
  if (task.when !== TaskWhen.UNSPECIFIED) json["when"] = (TaskWhen[task.when] ?? "").toLowerCase();
  if (Object.keys(task.streams).length > 0) json["streams"] = Object.fromEntries(Object.entries(task.streams).map(([name, direction]) => [name, enumName(StreamDirection, direction)]));
  return json;
}

/** `tether tasks`: what the task file defines, as the daemon reads it. */
export async function tasksCommand(args: string[], paths: ClientPaths): Promise<number> {
  const { values } = parseCommandLine({ args, options: { file: { type: "string" }, json: { type: "boolean", default: false } } });
  const taskFile = findTaskFile(values.file);
  const { client } = await connectToDaemon(paths);
  const { tasks } = await client.unary(TaskService.method.listTasks, { taskFile });
  if (values.json) {
    process.stdout.write(`${JSON.stringify(tasks.map(taskJson))}\n`);
    return 0;
  }
  const style = createStyle(process.stdout);
  const missing = await missingWorkspaces(client, tasks.map((t) => t.workspace));
  const out: string[] = [style.dim(taskFile)];
  if (tasks.length === 0) out.push("no tasks: define them under its tasks: (name: { cmd: ... })");
  for (const task of tasks) {
    const name = task.name.slice("tasks/".length);
    const command = task.shellCommand !== "" ? task.shellCommand : commandLine(task.argv);
    out.push(`${style.bold(style.task(name))}${task.description !== "" ? `  ${task.description}` : ""}`);
    out.push(command === "" ? `  ${GROUP_WORDS}` : `  cmd: ${command.trim().split("\n").join("\n       ")}`);
    if (task.upstream.length > 0) out.push(`  after: ${task.upstream.join(", ")}`);
    for (const input of task.inputs) {
      const type = input.choices.length > 0 ? `${enumName(TaskInputType, input.type)} ${input.choices.join("|")}` : enumName(TaskInputType, input.type);
      const dflt = input.required ? "required" : `default ${JSON.stringify(input.defaultValue)}`;
      out.push(`  input ${input.name} (${type}, ${dflt})${input.description !== "" ? `: ${input.description}` : ""}`);
    }
    const streams = Object.entries(task.streams).map(([stream, direction]) => `${stream} (${enumName(StreamDirection, direction)})`);
    if (task.stdinStream) streams.unshift("stdin (input, fed to the run's stdin)");
    if (streams.length > 0) out.push(`  streams: ${streams.join(", ")}`);
    const traits = [
      name === DEFAULT_TASK ? "what tether run runs when no task is named" : "",
      task.condition !== "" ? `when ${task.condition}` : "",
      ...taskTraits(task),
      task.workspace !== "" ? `in workspace ${task.workspace}${missing.has(task.workspace) ? ` (none by that name yet: tether ws create ${task.workspace})` : ""}` : "",
    ].filter((t) => t !== "");
    if (traits.length > 0) out.push(`  ${traits.join(", ")}`);
  }
  process.stdout.write(`${out.join("\n")}\n`);
  return 0;
}

/** How a task runs, in a few words each (its retries, timeout, readiness checks ...), as tasks and run --dry-run list them. */
export function taskTraits(task: Task): string[] {
  const retryDelay = task.retryDelay === undefined ? 0 : durationMs(task.retryDelay);
  return [
    task.retries > 0 ? `retries ${task.retries}${retryDelay > 0 ? ` after ${formatMs(retryDelay)}` : ""}` : "",
    task.timeout !== undefined ? `timeout ${formatMs(durationMs(task.timeout))}` : "",
    task.readiness !== undefined ? `service (readiness checks${serviceHealth(task)})` : "",
    task.keepOpen ? "keep_open" : "",
    task.failFast ? "fail_fast" : "",
    task.allowFailure ? "allow_failure" : "",
    task.when === TaskWhen.ALWAYS ? "runs once its upstreams have ended, whatever their outcome (when: always)" : "",
    task.when === TaskWhen.ON_FAILURE ? "runs only when an upstream failed (when: on_failure)" : "",
    task.result !== "" ? `result: ${task.result}` : "",
    task.workingDirectory !== "" ? `cwd ${task.workingDirectory}` : "",
    task.envFiles.length > 0 ? `env_file ${task.envFiles.map(escapeControls).join(", ")}` : "",
    task.maxOutputBytes > 0n ? `keeps the last ${formatBytes(Number(task.maxOutputBytes))} of output` : "",
    task.queue !== "" ? `in queue ${task.queue}${task.priority === 0 ? "" : ` (priority ${task.priority})`}` : "",
    task.sources.length > 0 ? `up to date when ${task.generates.map(escapeControls).join(", ")} no older than ${task.sources.map(escapeControls).join(", ")}` : "",
  ].filter((t) => t !== "");
}

/** Of the workspaces tasks name, those that do not exist (a session of such a task would be refused at start). */
async function missingWorkspaces(client: GrpcClient, named: readonly string[]): Promise<Set<string>> {
  const missing = new Set<string>();
  for (const workspace of new Set(named.filter((w) => w !== ""))) {
    try {
      await client.unary(WorkspaceService.method.getWorkspace, { workspace });
    } catch (error) {
      if (!(error instanceof RpcError) || error.detail?.reason !== ErrorReason.WORKSPACE_NOT_FOUND) throw error;
      missing.add(workspace);
    }
  }
  return missing;
}

/** ", then every 30s once ready" for a service whose checks go on once it is ready (health_interval); "" for one whose stop. */
function serviceHealth(task: Task): string {
  const every = task.readiness?.healthInterval === undefined ? 0 : durationMs(task.readiness.healthInterval);
  return every > 0 ? `, then every ${formatMs(every)} once ready` : "";
}

/** What tasks and run --dry-run say of a task with no cmd where its command would be. */
export const GROUP_WORDS = "a group: done once its upstreams are (no cmd)";
