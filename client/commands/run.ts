import { createInterface } from "node:readline/promises";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { SessionStatus, type Session } from "../../gen/tether/v1/session_pb.js";
import { SessionService } from "../../gen/tether/v1/session_service_pb.js";
import { TaskInputType, type Task, type TaskInput } from "../../gen/tether/v1/task_pb.js";
import { TaskService } from "../../gen/tether/v1/task_service_pb.js";
import { CliError } from "../cli-error.js";
import { enumName } from "../enum-names.js";
import { parseDurationFlag, parsePairs } from "../flags.js";
import type { GrpcClient } from "../grpc-client.js";
import type { ClientPaths } from "../paths.js";
import { followSession } from "../session-follower.js";
import { stdinIsTerminal } from "../stdin-kind.js";
import { createStyle } from "../style.js";
import { findTaskFile } from "../task-file.js";
import { connectToDaemon } from "../transport.js";

export const RUN_USAGE = `  tether run TASK [--input K=V ...] [-d] [--file F] [--parallel N] [--fail-fast]
             [--external-id ID] [--ttl DURATION] [--idle-timeout DURATION] [--ws WS]
                                              start a session and follow it; Ctrl-C detaches, the session goes on;
                                              runs execute in workspace WS (default: the task file's directory)`;

export const RERUN_USAGE = `  tether rerun S [--input K=V ...] [-d] [--external-id ID]
                                              start a session's task again as it ran (its graph, inputs,
                                              workspace and options; --input replaces one) and follow it`;

/** The options `run` and `rerun` share. */
const START_OPTIONS = {
  input: { type: "string", short: "i", multiple: true, default: [] as string[] },
  detach: { type: "boolean", short: "d", default: false },
  "external-id": { type: "string", default: "" },
} satisfies NonNullable<ParseArgsConfig["options"]>;

/** `tether run`: starts a session in the daemon and follows it (or, with -d, prints its id). */
export async function runCommand(args: string[], paths: ClientPaths): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...START_OPTIONS,
      file: { type: "string", short: "f" },
      parallel: { type: "string", short: "j" },
      "fail-fast": { type: "boolean", default: false },
      ws: { type: "string", default: "" },
      ttl: { type: "string" },
      "idle-timeout": { type: "string" },
    },
  });
  if (positionals.length !== 1) throw new CliError(`usage:\n${RUN_USAGE}`, 2);
  const task = positionals[0]!;
  const inputs = parsePairs("--input", values.input);
  const parallelism = values.parallel === undefined ? 0 : Number(values.parallel);
  if (!Number.isInteger(parallelism) || parallelism < 0) throw new CliError(`--parallel takes a whole number, got ${JSON.stringify(values.parallel)}`, 2);
  const taskFile = findTaskFile(values.file);
  const { client } = await connectToDaemon(paths);
  const { tasks } = await client.unary(TaskService.method.listTasks, { taskFile });
  const graph = graphOf(tasks, task);
  if (stdinIsTerminal()) await promptMissing(graph.flatMap((t) => t.inputs), inputs);
  const { session, alreadyExisted } = await client.unary(SessionService.method.startSession, {
    task,
    taskFile,
    inputs,
    externalId: values["external-id"],
    parallelism,
    failFast: values["fail-fast"],
    workspace: values.ws,
    ...(values.ttl !== undefined ? { ttl: parseDurationFlag("--ttl", values.ttl) } : {}),
    ...(values["idle-timeout"] !== undefined ? { idleTimeout: parseDurationFlag("--idle-timeout", values["idle-timeout"]) } : {}),
  });
  return followStarted(client, session!, alreadyExisted ? " (already started with this external id)" : "", values.detach);
}

/**
 * `tether rerun`: starts a session's task again as it ran (RerunSession)
 * and follows it as `tether run` does. Secret inputs were never stored: on a
 * terminal each not given with --input is asked for.
 */
export async function rerunCommand(args: string[], paths: ClientPaths): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: START_OPTIONS });
  if (positionals.length !== 1) throw new CliError(`usage:\n${RERUN_USAGE}`, 2);
  const inputs = parsePairs("--input", values.input);
  const { client } = await connectToDaemon(paths);
  const original = (await client.unary(SessionService.method.getSession, { name: `sessions/${positionals[0]}` })).session!;
  if (stdinIsTerminal()) {
    for (const [name, value] of Object.entries(original.inputs)) {
      if (value === SECRET_PLACEHOLDER && inputs[name] === undefined) inputs[name] = await readSecret(`${name} (secret, not stored with ${original.id}): `);
    }
  }
  const { session, alreadyExisted } = await client.unary(SessionService.method.rerunSession, { name: original.name, inputs, externalId: values["external-id"] });
  return followStarted(client, session!, alreadyExisted ? " (already started with this external id)" : ` again (a rerun of ${original.id})`, values.detach);
}

/** How the daemon shows a secret input's value (never stored). */
const SECRET_PLACEHOLDER = "<secret>";

/** Prints a started session's id (-d), or follows it to its end: the CLI's exit code is the session's. `startedHow` ends the first line. */
async function followStarted(client: GrpcClient, session: Session, startedHow: string, detached: boolean): Promise<number> {
  const id = session.id;
  if (detached) {
    process.stdout.write(`${id}\n`);
    return 0;
  }
  const style = createStyle(process.stderr);
  process.stderr.write(`${style.dim("tether")} session ${style.bold(id)} runs ${session.task}${startedHow}\n`);
  const detach = new AbortController();
  const onInterrupt = (): void => detach.abort();
  process.once("SIGINT", onInterrupt);
  try {
    await followSession({ client, sessionId: id, tasks: session.tasks, style, signal: detach.signal });
  } catch (error) {
    if (!detach.signal.aborted) throw error;
  } finally {
    process.removeListener("SIGINT", onInterrupt);
  }
  if (detach.signal.aborted) {
    process.stderr.write(`\ndetached; session ${id} goes on.\n  follow it again: tether logs -f ${id}\n  see it:          tether show ${id}\n  cancel it:       tether cancel ${id}\n`);
    return 0;
  }
  const final = (await client.unary(SessionService.method.getSession, { name: `sessions/${id}` })).session!;
  const outcome = final.error !== "" ? `: ${final.error}` : final.result !== "" ? `: ${final.result}` : "";
  const state = final.status === SessionStatus.OPEN ? "open (keep_open: it waits for more input)" : enumName(SessionStatus, final.status);
  process.stderr.write(`${style.dim("tether")} session ${id} ${state}, exit code ${final.exitCode}${outcome}\n`);
  return final.exitCode;
}

/** The main task and its upstreams, upstreams first, from the listed tasks. */
function graphOf(tasks: readonly Task[], main: string): Task[] {
  const byName = new Map(tasks.map((t) => [t.name.slice("tasks/".length), t]));
  if (!byName.has(main)) throw new CliError(`no task ${JSON.stringify(main)} in the task file: the tasks are ${[...byName.keys()].join(", ")}`);
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

/**
 * Reads a line from the terminal without showing it, as passwd and sudo do:
 * the terminal in raw mode for the while, Backspace takes back a character,
 * Enter ends it, Ctrl-C gives up (exit 130, nothing started). Until
 * 2026-12-06 a secret's prompt reached into readline's private output hook,
 * which readline/promises does not have: asking for a secret failed.
 */
function readSecret(question: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(question);
  stdin.setRawMode(true);
  stdin.resume();
  const bytes: number[] = [];
  return new Promise((resolve, reject) => {
    const done = (): void => {
      stdin.off("data", onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write("\n");
    };
    const onData = (chunk: Buffer): void => {
      for (const byte of chunk) {
        if (byte === 0x0d || byte === 0x0a || byte === 0x04) {
          done();
          resolve(Buffer.from(bytes).toString("utf8"));
          return;
        }
        if (byte === 0x03) {
          done();
          reject(new CliError("no value given: the session was not started", 130));
          return;
        }
        if (byte === 0x7f || byte === 0x08) {
          // A whole UTF-8 character: its continuation bytes, then its first.
          while (bytes.length > 0 && (bytes.at(-1)! & 0xc0) === 0x80) bytes.pop();
          bytes.pop();
        } else {
          bytes.push(byte);
        }
      }
    };
    stdin.on("data", onData);
  });
}
