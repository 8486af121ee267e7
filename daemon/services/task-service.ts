import { create } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { Code, type ServiceImpl } from "@connectrpc/connect";
import { TaskInputType, TaskSchema, TaskWhen, type Task } from "../../gen/tether/v1/task_pb.js";
import { StreamDirection } from "../../gen/tether/v1/stream_pb.js";
import type { TaskService } from "../../gen/tether/v1/task_service_pb.js";
import { TetherError, invalidArgument } from "../errors.js";
import { loadTaskFile } from "../tasks/task-file.js";
import type { InputType, TaskDef } from "../tasks/types.js";
import { readinessToProto } from "./readiness-proto.js";
import { choicesHint } from "../../common/closest-word.js";

const NAME_PREFIX = "tasks/";

const INPUT_TYPES: Readonly<Record<InputType, TaskInputType>> = {
  string: TaskInputType.STRING,
  int: TaskInputType.INT,
  float: TaskInputType.FLOAT,
  bool: TaskInputType.BOOL,
  choice: TaskInputType.CHOICE,
  secret: TaskInputType.SECRET,
};

/** Handlers for tether.v1.TaskService: the daemon reads the file the client names. */
export function createTaskService(): ServiceImpl<typeof TaskService> {
  return {
    listTasks(req) {
      const file = loadTaskFile(absolute(req.taskFile));
      return { tasks: [...file.tasks.values()].map((task) => taskToProto(task, file.lines.get(task.name))) };
    },
    getTask(req) {
      const file = loadTaskFile(absolute(req.taskFile));
      const name = req.name.startsWith(NAME_PREFIX) ? req.name.slice(NAME_PREFIX.length) : req.name;
      const task = file.tasks.get(name);
      if (task === undefined) {
        throw new TetherError(Code.NotFound, "TASK_NOT_FOUND", `no task ${JSON.stringify(name)} in ${file.path}: ${choicesHint(name, [...file.tasks.keys()], "tasks")}`, { task: name });
      }
      return { task: taskToProto(task, file.lines.get(name)) };
    },
  };
}

function absolute(path: string): string {
  if (!path.startsWith("/")) throw invalidArgument("task_file", `task_file must be an absolute path, got ${JSON.stringify(path)}`);
  return path;
}

export function taskToProto(task: TaskDef, line: number | undefined): Task {
  return create(TaskSchema, {
    name: NAME_PREFIX + task.name,
    description: task.description,
    shellCommand: task.cmd?.kind === "shell" ? task.cmd.script : "",
    argv: task.cmd?.kind === "argv" ? [...task.cmd.argv] : [],
    upstream: [...task.upstream],
    inputs: task.inputs.map((i) => ({
      name: i.name,
      type: INPUT_TYPES[i.type],
      description: i.description,
      defaultValue: i.default ?? "",
      required: i.default === undefined,
      choices: [...i.choices],
    })),
    env: { ...task.env },
    retries: task.retries,
    retryDelay: durationFromMs(task.retryDelayMs),
    ...(task.timeoutMs > 0 ? { timeout: durationFromMs(task.timeoutMs) } : {}),
    ...(task.readiness !== undefined
      ? {
          readiness: readinessToProto(task.readiness),
        }
      : {}),
    condition: task.condition ?? "",
    keepOpen: task.keepOpen,
    result: task.result ?? "",
    workingDirectory: task.cwd ?? "",
    workspace: task.workspace ?? "",
    streams: Object.fromEntries(Object.entries(task.streams).map(([name, d]) => [name, d === "input" ? StreamDirection.INPUT : StreamDirection.OUTPUT])),
    stdinStream: task.stdin === "stream",
    failFast: task.failFast === true,
    allowFailure: task.allowFailure === true,
    when: task.when === "always" ? TaskWhen.ALWAYS : task.when === "on_failure" ? TaskWhen.ON_FAILURE : TaskWhen.ON_SUCCESS,
    envFiles: [...(task.envFiles ?? [])],
    maxOutputBytes: BigInt(task.maxOutputBytes ?? 0),
    queue: task.queue ?? "",
    priority: task.priority ?? 0,
    sources: [...(task.sources ?? [])],
    generates: [...(task.generates ?? [])],
    line: line ?? 0,
  });
}
