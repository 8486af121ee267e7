import { createInterface } from "node:readline/promises";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { parseCommandLine } from "../command-line.js";
import { SessionService } from "../../gen/tether/v1/session_service_pb.js";
import { TaskInputType, type Task, type TaskInput } from "../../gen/tether/v1/task_pb.js";
import { TaskService } from "../../gen/tether/v1/task_service_pb.js";
import { CliError } from "../cli-error.js";
import { afterRefs, ENV_FLAGS, envFromFlags, parseDurationFlag, parsePairs, parseSizeFlag, parseStartAtFlag, START_FLAGS, startFollowing, UINT32_MAX, wholeNumberFlag } from "../flags.js";
import { type ClientPaths, workspaceArg } from "../paths.js";
import { readSecret } from "../secret-prompt.js";
import { followStarted } from "../session-follower.js";
import { printPlan } from "./run-plan.js";
import { stdinIsTerminal } from "../stdin-kind.js";
import { DEFAULT_TASK, findTaskFile } from "../task-file.js";
import { connectToDaemon } from "../transport.js";
import { choicesHint } from "../../common/closest-word.js";

export const RUN_USAGE = `  tether run [TASK] [--input K=V ...] [-d | --wait [--timeout 60s]] [--file F] [--parallel N] [--fail-fast]
             [--external-id ID] [--ttl DURATION] [--idle-timeout DURATION] [--ws WS] [--label k=v ...]
             [--max-output SIZE] [--delay 10m | --at TIME] [--after S ...] [-E] [--env K=V|K ...] [--dotenv F ...]
             [--force] [--dry-run [--json]]
                                              start a session of TASK (default: the task named default) and follow it;
                                              Ctrl-C detaches (exit 130), the session goes on; -d: print its id;
                                              --wait: print its id once it is ready, as compose up -d --wait (its
                                              main task a ready service, or its graph finished well; exit 1 if not);
                                              runs execute in workspace WS (default: the task file's directory),
                                              a task's own \`workspace:\` in its own;
                                              --max-output 100M keeps only the last 100 MiB of its output
                                              (default: the task's max_output, else all of it);
                                              --delay 10m, --at 03:00 (or 2026-12-08T03:00): start its graph no sooner,
                                              as pueue add --delay (open and waiting until then, across daemon restarts);
                                              --after S: once session S has ended (each of several), as pueue add
                                              --after; if one did not succeed (exit 0), cancelled with nothing run;
                                              -E/--inherit-env: this shell's environment for its runs (a venv's, nvm's
                                              PATH), under each task's env; --env K=V (K: this shell's value) and
                                              --dotenv F over everything, the tasks' env included (docker run -e);
                                              --force: run every task, up to date with its sources: or not (make -B);
                                              --dry-run: what it would run, starting nothing, as make -n: each
                                              task's command with the inputs put in, its condition now, where it runs`;


/** `tether run`: starts a session in the daemon and follows it (or, with -d, prints its id). */
export async function runCommand(args: string[], paths: ClientPaths): Promise<number> {
  const { values, positionals } = parseCommandLine({
    args,
    allowPositionals: true,
    options: {
      ...START_FLAGS,
      ...ENV_FLAGS,
      file: { type: "string", short: "f" },
      parallel: { type: "string", short: "j" },
      "fail-fast": { type: "boolean", default: false },
      ws: { type: "string", default: "" },
      ttl: { type: "string" },
      "idle-timeout": { type: "string" },
      label: { type: "string", multiple: true, default: [] },
      "max-output": { type: "string" },
      delay: { type: "string" },
      at: { type: "string" },
      after: { type: "string", multiple: true, default: [] },
      "dry-run": { type: "boolean", default: false },
      force: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
    },
  });
  if (values.json && !values["dry-run"]) throw new CliError("--json goes with --dry-run (a followed run prints its output; tether show S --json prints a session)", 2);
  if (positionals.length > 1) {
    // `tether run test --grep x`-style words after the task, as npm run and just pass them on: tether takes inputs.
    throw new CliError(`one task per run: ${JSON.stringify(positionals.slice(1).join(" "))} came after ${positionals[0]}; give a task its values as inputs (--input NAME=VALUE; tether tasks lists each task's inputs)`, 2);
  }
  const following = startFollowing(values);
  if (values["dry-run"] && following.detach) throw new CliError("--dry-run starts nothing: drop -d or --wait", 2);
  const startAt = parseStartAtFlag(values.delay, values.at);
  if (values["dry-run"] && ((values.delay ?? values.at) !== undefined || values.after.length > 0)) throw new CliError("--dry-run starts nothing, now or later: drop --delay, --at or --after", 2);
  const inputs = parsePairs("--input", values.input);
  const parallelism = values.parallel === undefined ? 0 : wholeNumberFlag("--parallel", values.parallel, "a number of tasks at once (0: one per CPU)", UINT32_MAX);
  const taskFile = findTaskFile(values.file);
  const { client } = await connectToDaemon(paths);
  const { tasks } = await client.unary(TaskService.method.listTasks, { taskFile });
  const task = positionals[0] ?? defaultTask(tasks, taskFile);
  const graph = graphOf(tasks, task);
  if (stdinIsTerminal()) await promptMissing(graph.flatMap((t) => t.inputs), inputs);
  const workspace = values.ws === "" ? "" : workspaceArg(values.ws);
  // -E under the tasks' own env, --dotenv and --env over it (StartSessionRequest.inherited_env, env).
  const inheritedEnv = envFromFlags({ env: [], dotenv: [], "inherit-env": values["inherit-env"] });
  const env = envFromFlags({ ...values, "inherit-env": false });
  if (values["dry-run"]) {
    printPlan(await client.unary(SessionService.method.planSession, { task, taskFile, inputs, workspace, inheritedEnv, env }), task, values.json);
    return 0;
  }
  const { session, alreadyExisted } = await client.unary(SessionService.method.startSession, {
    task,
    taskFile,
    inputs,
    externalId: values["external-id"],
    parallelism,
    failFast: values["fail-fast"],
    workspace,
    labels: parsePairs("--label", values.label),
    outputMaxBytes: BigInt(values["max-output"] === undefined ? 0 : parseSizeFlag("--max-output", values["max-output"])),
    startAt: startAt === undefined ? undefined : timestampFromMs(startAt),
    after: afterRefs(values.after),
    inheritedEnv,
    env,
    force: values.force,
    ...(values.ttl !== undefined ? { ttl: parseDurationFlag("--ttl", values.ttl) } : {}),
    ...(values["idle-timeout"] !== undefined ? { idleTimeout: parseDurationFlag("--idle-timeout", values["idle-timeout"]) } : {}),
  });
  return followStarted(client, session!, alreadyExisted ? " (already started with this external id)" : "", following);
}

/**
 * The task `tether run` runs when none is named: the one named `default`, as
 * Taskfile's `task` runs it; else a usage error naming the file's tasks.
 */
function defaultTask(tasks: readonly Task[], taskFile: string): string {
  const names = tasks.map((t) => t.name.slice("tasks/".length));
  if (names.includes(DEFAULT_TASK)) return DEFAULT_TASK;
  throw new CliError(`which task? ${taskFile} has ${names.length === 0 ? "none" : names.join(", ")}: tether run TASK (a task named ${DEFAULT_TASK} runs when none is named)`, 2);
}

/** The main task and its upstreams, upstreams first, from the listed tasks. */
export function graphOf(tasks: readonly Task[], main: string): Task[] {
  const byName = new Map(tasks.map((t) => [t.name.slice("tasks/".length), t]));
  if (!byName.has(main)) throw new CliError(`no task ${JSON.stringify(main)} in the task file: ${choicesHint(main, [...byName.keys()], "tasks")}`);
  const order: Task[] = [];
  const seen = new Set<string>();
  const visit = (name: string): void => {
    const task = byName.get(name);
    if (task === undefined || seen.has(name)) return;
    seen.add(name);
    for (const up of task.upstream) visit(up);
    order.push(task);
  };
  visit(main);
  return order;
}

/** On a terminal, asks for each required input not given; secrets are read without echo. */
async function promptMissing(declared: readonly TaskInput[], inputs: Record<string, string>): Promise<void> {
  const missing = declared.filter((d, i) => d.required && inputs[d.name] === undefined && declared.findIndex((x) => x.name === d.name) === i);
  for (const input of missing) {
    const hint = input.choices.length > 0 ? ` (${input.choices.join("|")})` : "";
    const question = `${input.name}${hint}${input.description !== "" ? ` - ${input.description}` : ""}: `;
    if (input.type === TaskInputType.SECRET) {
      inputs[input.name] = await readSecret(question);
    } else {
      const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
      try {
        inputs[input.name] = await rl.question(question);
      } finally {
        rl.close();
      }
    }
  }
}
