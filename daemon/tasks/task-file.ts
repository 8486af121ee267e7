import { dirname, resolve } from "node:path";
import { Code } from "@connectrpc/connect";
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Node, type Pair, type YAMLError, type YAMLMap } from "yaml";
import { TetherError } from "../errors.js";
import { HEALTH_DEFAULT_INTERVAL_MS, READINESS_DEFAULT_INTERVAL_MS, READINESS_DEFAULT_TIMEOUT_MS, readinessProblems } from "../process/readiness.js";
import { findCycle } from "./graph.js";
import { readTaskFileText } from "./task-file-text.js";
import { expandMatrix, parseMatrix, type Matrix } from "./matrix.js";
import { boolean, duration, integer, optionalString, size, stringList } from "./task-file-values.js";
import { WORKSPACE_NAME_PATTERN } from "../workspaces/workspaces.js";
import { QUEUE_NAME_PATTERN, queueNameProblem } from "../queues.js";
import { FILE_KEYS, INPUT_KEYS, READINESS_KEYS, TASK_KEYS, refuseInGroup, refuseUnknownKeys } from "./task-file-keys.js";
import { checkInputPlaceholders, checkTemplates, commandTemplates, type Report } from "./template-checks.js";
import { expandAliases } from "./yaml-aliases.js";
import { INPUT_TYPES, RESULT_STREAM, STDIN_STREAM, STREAM_NAME_PATTERN, type Command, type StreamDirection, type InputDef, type InputType, type Readiness, type TaskDef, type TaskFile } from "./types.js";
import { choicesHint } from "../../common/closest-word.js";

/** Task names: what `tether run NAME` and `tasks/{task}` accept. */
export const TASK_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const INPUT_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Reads and validates a task file; every problem is reported with its line. */
export function loadTaskFile(path: string): TaskFile {
  const text = readTaskFileText(path);
  const known = parsed.get(path);
  if (known?.text === text) return known.file;
  const file = parseTaskFile(path, text);
  parsed.delete(path);
  parsed.set(path, { text, file });
  for (const oldest of parsed.keys()) {
    if (parsed.size <= PARSED_FILES_KEPT) break;
    parsed.delete(oldest);
  }
  return file;
}

/**
 * The last few files read, with the text they were parsed from: `tether run`
 * asks for the tasks and then starts the session, and the file is read both
 * times but parsed once while its text is unchanged (a thousand tasks take
 * ~0.2 s to parse). A TaskFile is read-only, so sharing it is safe.
 */
const PARSED_FILES_KEPT = 16;
const parsed = new Map<string, { text: string; file: TaskFile }>();

export function parseTaskFile(path: string, text: string): TaskFile {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: false });
  const problems: { line: number; message: string }[] = [];
  const at = (node: Node | null | undefined, message: string): void => {
    problems.push({ line: node?.range == null ? 1 : lines.linePos(node.range[0]).line, message });
  };
  for (const error of doc.errors) problems.push({ line: error.linePos?.[0].line ?? 1, message: yamlProblem(error) });
  const tasks = new Map<string, TaskDef>();
  const taskNodes = new Map<string, Node>();
  /** Each task as the file writes it: a matrix task once, not its combinations. */
  const written = new Map<string, TaskDef>();
  const declared = new Set<string>();
  const root = problems.length === 0 ? expandAliases(doc.contents, at) : null;
  if (problems.length === 0) {
    const tasksNode = isMap(root) ? root.get("tasks", true) : undefined;
    if (isMap(root)) refuseUnknownKeys(root, FILE_KEYS, "a task file", at, (key) => key.startsWith("x-"));
    const shared = isMap(root) ? parseShared(root, dirname(path), at) : { env: {}, envFiles: [] };
    if (!isMap(tasksNode)) {
      at(root as Node | null, "a task file is a mapping with a `tasks:` mapping of task names to definitions");
    } else {
      for (const pair of tasksNode.items) {
        const key = pair.key as Node;
        const name = isScalar(key) ? String(key.value) : "";
        if (!TASK_NAME_PATTERN.test(name)) {
          at(key, `task name ${JSON.stringify(name)} is invalid: use letters, digits, '.', '_', ':' or '-' (up to 128), starting with a letter or digit`);
          continue;
        }
        if (declared.has(name)) {
          at(key, `task "${name}" is defined twice: rename one of them`);
          continue;
        }
        declared.add(name);
        const report: Report = (node, message) => at(node ?? key, `task "${name}": ${message}`);
        const parsed = parseTask(name, pair.value as Node, dirname(path), report);
        if (parsed === undefined) continue;
        const { task, matrix } = parsed;
        written.set(name, task);
        for (const each of matrix === undefined ? [task] : expandMatrix(task, matrix, (n) => declared.has(n), report)) {
          declared.add(each.name);
          tasks.set(each.name, withShared(each, shared));
          taskNodes.set(each.name, key);
        }
      }
      for (const task of written.values()) {
        for (const up of task.upstream) {
          if (!declared.has(up)) at(upstreamNode(tasksNode, task.name, up), `task "${task.name}": unknown upstream "${up}"; ${choicesHint(up, [...declared], "tasks")}`);
        }
      }
      // As written: a matrix task's combinations would say the same again.
      checkStreamDirections(written, taskNodes, at);
      checkInputPlaceholders(tasksNode, written, at);
      const cycle = findCycle(tasks);
      if (cycle !== undefined) at(taskNodes.get(cycle[0]!), `the upstreams form a cycle: ${cycle.join(" -> ")}; remove one of these upstream links`);
    }
  }
  if (problems.length > 0) {
    // In the file's order, as a compiler lists them (a stable sort keeps one line's problems as found).
    const listed = problems.sort((a, b) => a.line - b.line).map((p) => `${path}:${p.line}: ${p.message}`);
    throw new TetherError(Code.InvalidArgument, "TASK_FILE_INVALID", `the task file is invalid:\n  ${listed.join("\n  ")}`, { file: path });
  }
  const taskLines = new Map([...taskNodes].map(([name, node]) => [name, node.range == null ? 1 : lines.linePos(node.range[0]).line]));
  return { path, dir: dirname(path), tasks, lines: taskLines };
}

/** What the YAML parser's error says (its first line, without the excerpt it introduces), with the fix for the common ones. */
function yamlProblem(error: YAMLError): string {
  const said = error.message.split("\n")[0]!.replace(/:$/, "");
  switch (error.code) {
    case "BLOCK_AS_IMPLICIT_KEY":
      return `${said}: a value with ": " in it must be quoted, or written as a block (cmd: | with the command indented on the lines below)`;
    case "TAB_AS_INDENT":
      return `${said}: indent with spaces`;
    case "MULTIPLE_DOCS":
      return "a second YAML document starts here (---): a task file is one document, so put every task under the first one's tasks:";
    default:
      return said;
  }
}

/** The node naming `up` in the task's `upstream:` (a list or one name), for the line of an unknown upstream. */
function upstreamNode(tasksNode: YAMLMap, task: string, up: string): Node | undefined {
  const definition = tasksNode.get(task, true);
  const upstream = isMap(definition) ? (definition.get("upstream", true) as Node | undefined) : undefined;
  if (isSeq(upstream)) return (upstream.items as Node[]).find((item) => isScalar(item) && String(item.value) === up) ?? upstream;
  return upstream;
}

/** What the file's top gives every task: `env` and `env_file`, as GitHub Actions' workflow-level env. */
interface Shared {
  readonly env: Readonly<Record<string, string>>;
  readonly envFiles: readonly string[];
}

function parseShared(root: YAMLMap, dir: string, report: Report): Shared {
  const envNode = root.get("env", true) as Node | undefined;
  const env = parseEnv(envNode, report);
  checkTemplates(Object.values(env), envNode, report);
  return { env, envFiles: stringList(root.get("env_file", true) as Node | undefined, report, "env_file").map((file) => resolve(dir, file)) };
}

/** A task with what the file's top gives every task: its own env over the file's, its env_files after the file's. */
function withShared(task: TaskDef, shared: Shared): TaskDef {
  const envFiles = [...shared.envFiles, ...(task.envFiles ?? [])];
  return { ...task, env: { ...shared.env, ...task.env }, ...(envFiles.length > 0 ? { envFiles } : {}) };
}

/** A task's definition, and its matrix if it has one (matrix.ts); `dir` (the task file's directory) is where its relative paths start. */
function parseTask(name: string, node: Node | null, dir: string, report: Report): { task: TaskDef; matrix: Matrix | undefined } | undefined {
  if (!isMap(node)) {
    report(node, "a task is a mapping with at least `cmd:`");
    return undefined;
  }
  refuseUnknownKeys(node, TASK_KEYS, "a task", report);
  const get = (key: string): Node | undefined => node.get(key, true) as Node | undefined;
  const upstream = stringList(get("upstream"), report, "upstream");
  const group = get("cmd") === undefined && upstream.length > 0;
  if (group) refuseInGroup(node, report);
  const cmd = group ? undefined : parseCommand(get("cmd"), report);
  const retries = integer(get("retries"), 0, report, "retries");
  const retryDelayMs = duration(get("retry_delay"), 0, report, "retry_delay");
  const timeoutMs = duration(get("timeout"), 0, report, "timeout");
  const keepOpen = boolean(get("keep_open"), report, "keep_open");
  const failFast = boolean(get("fail_fast"), report, "fail_fast");
  const allowFailure = boolean(get("allow_failure"), report, "allow_failure");
  const when = runsWhen(get("when"), upstream.length > 0, report);
  if (allowFailure && failFast) report(get("allow_failure"), "allow_failure and fail_fast: a failure the graph goes on past cannot also cancel it; keep one");
  const resultNode = get("result");
  let result: "stdout" | undefined;
  if (resultNode !== undefined) {
    if (isScalar(resultNode) && resultNode.value === "stdout") result = "stdout";
    else report(resultNode, 'result: the only supported value is "stdout" (the trimmed stdout becomes the result)');
  }
  const stdinNode = get("stdin");
  let stdin: "none" | "stream" = "none";
  if (stdinNode !== undefined) {
    if (isScalar(stdinNode) && (stdinNode.value === "stream" || stdinNode.value === "none")) stdin = stdinNode.value;
    else report(stdinNode, 'stdin: use "stream" (feed the run the records of the session\'s stdin stream) or "none" (the default: stdin closed)');
  }
  if (cmd === undefined && !group) return undefined;
  const matrixNode = get("matrix");
  const matrix = parseMatrix(matrixNode, report);
  if (matrix !== undefined && keepOpen) report(matrixNode, "a keep_open task is one conversation, and a matrix makes several tasks: keep one of matrix and keep_open");
  // Its axes as written, so a matrix with a problem of its own does not make each placeholder one too.
  const axes = matrixNode === undefined ? undefined : isMap(matrixNode) ? matrixNode.items.map((pair) => String((pair.key as { value?: unknown }).value)).filter((key) => key !== "exclude") : [];
  checkTemplates(commandTemplates(cmd), get("cmd"), report, axes);
  const env = parseEnv(get("env"), report);
  checkTemplates(Object.values(env), get("env"), report, axes);
  const workspace = optionalString(get("workspace"), report, "workspace");
  if (workspace !== undefined && !WORKSPACE_NAME_PATTERN.test(workspace)) {
    report(get("workspace"), `workspace ${JSON.stringify(workspace)} is not a workspace name or id: names are 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit (tether ws ls lists them)`);
  }
  const condition = optionalString(get("condition"), report, "condition");
  checkTemplates(condition === undefined ? [] : [condition], get("condition"), report, axes);
  const envFiles = stringList(get("env_file"), report, "env_file").map((file) => resolve(dir, file));
  const maxOutputBytes = size(get("max_output"), report, "max_output");
  const queue = optionalString(get("queue"), report, "queue");
  if (queue !== undefined && !QUEUE_NAME_PATTERN.test(queue)) report(get("queue"), queueNameProblem(queue));
  const priority = queuePriority(get("priority"), queue !== undefined, report);
  const { sources, generates } = parseSources(get("sources"), get("generates"), report);
  if (sources.length > 0 && get("readiness") !== undefined) report(get("sources"), "a service (readiness:) runs for its downstreams while they need it, up to date or not: leave sources and generates out, or readiness");
  const task: TaskDef = {
    name,
    description: optionalString(get("description"), report, "description") ?? "",
    cmd,
    upstream,
    inputs: parseInputs(get("inputs"), report),
    env,
    retries,
    retryDelayMs,
    timeoutMs,
    readiness: parseReadiness(get("readiness"), report, matrix !== undefined),
    condition,
    keepOpen,
    result,
    cwd: optionalString(get("cwd"), report, "cwd"),
    streams: parseStreams(get("streams"), report),
    stdin,
    failFast,
    ...(allowFailure ? { allowFailure } : {}),
    ...(when !== undefined ? { when } : {}),
    ...(workspace !== undefined ? { workspace } : {}),
    ...(envFiles.length > 0 ? { envFiles } : {}),
    ...(maxOutputBytes !== 0 ? { maxOutputBytes } : {}),
    ...(queue !== undefined ? { queue } : {}),
    ...(priority !== 0 ? { priority } : {}),
    ...(sources.length > 0 ? { sources, generates } : {}),
  };
  return { task, matrix };
}

/** A task's `sources:` and `generates:` (make's prerequisites and target, Taskfile's keys): both, or neither. */
function parseSources(sourcesNode: Node | undefined, generatesNode: Node | undefined, report: Report): { sources: string[]; generates: string[] } {
  const sources = stringList(sourcesNode, report, "sources");
  const generates = stringList(generatesNode, report, "generates");
  for (const [node, globs, key] of [[sourcesNode, sources, "sources"], [generatesNode, generates, "generates"]] as const) {
    if (globs.some((glob) => glob.trim() === "")) report(node, `${key}: a glob is empty: each names files from the run's cwd (src/**/*.ts)`);
  }
  if (sources.length > 0 && generates.length === 0) report(sourcesNode, "sources without generates: what a task makes is what tells it is up to date (make's target): add generates: [dist/app.js], or leave sources out");
  if (generates.length > 0 && sources.length === 0) report(generatesNode, "generates without sources: a task is up to date when what it makes is no older than what it makes it from: add sources: [src/**], or leave generates out");
  return { sources, generates };
}

/** A task's `when:` (GitLab CI's): on_success (the default: undefined), always or on_failure; only beside upstreams, which it is about. */
function runsWhen(node: Node | undefined, hasUpstream: boolean, report: Report): TaskDef["when"] {
  const value = optionalString(node, report, "when");
  if (value === undefined || value === "on_success") return undefined;
  if (value !== "always" && value !== "on_failure") {
    report(node, `when: ${JSON.stringify(value)} is none of on_success (the default: once every upstream is done well), always (once each has ended, whatever its outcome: a cleanup) or on_failure (only when one failed: a rollback)`);
    return undefined;
  }
  if (!hasUpstream) report(node, `when: ${value} says when a task runs after its upstreams, and it has none: give it upstream: [...], or leave when out`);
  return value;
}

/** A task's `priority:` in its queue (exec --priority's): a whole number, negative too; only beside `queue:`. */
function queuePriority(node: Node | undefined, queued: boolean, report: Report): number {
  if (node === undefined) return 0;
  if (!isScalar(node) || typeof node.value !== "number" || !Number.isInteger(node.value) || Math.abs(node.value) >= 2 ** 31) {
    report(node, "priority must be a whole number (higher first in the task's queue; negative ones after those of 0)");
    return 0;
  }
  if (!queued) report(node, "priority orders a task's runs among those waiting in its queue: give it queue: NAME too");
  return node.value;
}

function parseStreams(node: Node | undefined, report: Report): Record<string, StreamDirection> {
  const streams: Record<string, StreamDirection> = {};
  if (node === undefined || (isScalar(node) && node.value === null)) return streams;
  if (!isMap(node)) {
    report(node, "streams is a mapping of stream names to input or output, e.g. { approval: input, events: output }");
    return streams;
  }
  for (const pair of node.items) {
    const key = pair.key as Node;
    const name = isScalar(key) ? String(key.value) : "";
    const value = pair.value as Node | null;
    if (!STREAM_NAME_PATTERN.test(name)) {
      report(key, `stream name ${JSON.stringify(name)} is invalid: use 1-256 letters, digits, '.', '_' or '-', starting with a letter or digit`);
    } else if (!isScalar(value) || (value.value !== "input" && value.value !== "output")) {
      report(value ?? key, `stream "${name}": the direction is input (clients send, the task waits) or output (the task writes, clients read)`);
    } else if (name === STDIN_STREAM && value.value !== "input") {
      report(value, `stream "${STDIN_STREAM}" is the built-in input stream: it cannot be an output`);
    } else if (name === RESULT_STREAM && value.value !== "output") {
      report(value, `stream "${RESULT_STREAM}" is the built-in output stream of task results: it cannot be an input`);
    } else {
      streams[name] = value.value;
    }
  }
  return streams;
}

/** A stream name means one stream per session, so every task that declares it must agree on its direction. */
function checkStreamDirections(tasks: ReadonlyMap<string, TaskDef>, nodes: ReadonlyMap<string, Node>, at: (node: Node | undefined, message: string) => void): void {
  const seen = new Map<string, { task: string; direction: StreamDirection }>();
  for (const task of tasks.values()) {
    for (const [name, direction] of Object.entries(task.streams)) {
      const first = seen.get(name);
      if (first === undefined) seen.set(name, { task: task.name, direction });
      else if (first.direction !== direction) {
        at(nodes.get(task.name), `task "${task.name}": stream "${name}" is an ${direction} here but an ${first.direction} in task "${first.task}"; a stream has one direction`);
      }
    }
  }
}

function parseCommand(node: Node | undefined, report: Report): Command | undefined {
  if (isScalar(node) && typeof node.value === "string" && node.value.trim() !== "") return { kind: "shell", script: node.value };
  if (isSeq(node) && node.items.length > 0 && node.items.every((i) => isScalar(i) && (typeof i.value === "string" || typeof i.value === "number"))) {
    return { kind: "argv", argv: node.items.map((i) => String((i as { value: unknown }).value)) };
  }
  report(node, `${node === undefined ? "cmd is required (or upstream: a task of upstreams alone is a group)" : "cmd must be a non-empty string or list"}: a shell command string, or a list of program and arguments`);
  return undefined;
}

function parseInputs(node: Node | undefined, report: Report): InputDef[] {
  if (node === undefined || (isScalar(node) && node.value === null)) return [];
  if (!isMap(node)) {
    report(node, "inputs is a mapping of input names to { type, default, choices, description }");
    return [];
  }
  const inputs: InputDef[] = [];
  for (const pair of node.items) {
    const key = pair.key as Node;
    const name = isScalar(key) ? String(key.value) : "";
    if (!INPUT_NAME_PATTERN.test(name)) {
      report(key, `input name ${JSON.stringify(name)} is invalid: use letters, digits and '_', starting with a letter or '_'`);
      continue;
    }
    const def = parseInput(name, pair, (n, m) => report(n, `input "${name}": ${m}`));
    if (def !== undefined) inputs.push(def);
  }
  return inputs;
}

function parseInput(name: string, pair: Pair, report: Report): InputDef | undefined {
  const value = pair.value as Node | null;
  if (!isMap(value)) {
    report(value ?? (pair.key as Node), "declare it as { type: string|int|float|bool|choice|secret, default: ..., choices: [...] }");
    return undefined;
  }
  refuseUnknownKeys(value, INPUT_KEYS, "an input", report);
  const typeNode = value.get("type", true) as Node | undefined;
  const typeName = typeNode === undefined ? "string" : isScalar(typeNode) ? String(typeNode.value) : "";
  if (!INPUT_TYPES.includes(typeName as InputType)) {
    report(typeNode, `bad input type ${JSON.stringify(typeName)}: use one of ${INPUT_TYPES.join(", ")}`);
    return undefined;
  }
  const type = typeName as InputType;
  const choices = stringList(value.get("choices", true) as Node | undefined, report, "choices");
  if (type === "choice" && choices.length === 0) report(value, "a choice input needs a non-empty choices list");
  const defaultNode = value.get("default", true) as Node | undefined;
  let dflt: string | undefined;
  if (defaultNode !== undefined && isScalar(defaultNode) && defaultNode.value !== null) {
    dflt = String(defaultNode.value);
    const problem = checkInputValue({ name, type, choices, description: "", default: undefined }, dflt);
    if (problem !== undefined) report(defaultNode, `default: ${problem}`);
  }
  return { name, type, choices, default: dflt, description: optionalString(value.get("description", true) as Node | undefined, report, "description") ?? "" };
}

/**
 * A float as Python's float() and a shell's awk read one: decimal, with an
 * optional exponent. Number() alone took 0x10, 0b11 and 0o7 too, which reach
 * a run as they were given, and a script reading them as numbers gets 0.
 */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Why `value` does not fit the input, or undefined when it does. */
export function checkInputValue(input: InputDef, value: string): string | undefined {
  switch (input.type) {
    case "string":
    case "secret":
      return undefined;
    case "int":
      return /^-?\d+$/.test(value.trim()) ? undefined : `${JSON.stringify(value)} is not an int: write a whole number in decimal, as 3 or -12`;
    case "float":
      return DECIMAL.test(value.trim()) && Number.isFinite(Number(value)) ? undefined : `${JSON.stringify(value)} is not a float: write it in decimal, as 1.5, -2 or 6.02e23`;
    case "bool":
      return /^(true|false|yes|no|on|off|1|0)$/i.test(value.trim()) ? undefined : `${JSON.stringify(value)} is not a bool: use true or false`;
    case "choice":
      return input.choices.includes(value) ? undefined : `${JSON.stringify(value)} is not one of ${input.choices.map((c) => (c === "" || /[\s,"]/.test(c) ? JSON.stringify(c) : c)).join(", ")}`;
  }
}

/**
 * A valid value as runs see it: a bool as true or false whatever way it was
 * given (yes, on, 1, ...), so a template's test of it has one spelling to
 * match; an int or a float without the blanks around it; the rest as given.
 */
export function canonicalInputValue(input: InputDef, value: string): string {
  switch (input.type) {
    case "bool":
      return /^(true|yes|on|1)$/i.test(value.trim()) ? "true" : "false";
    case "int":
    case "float":
      return value.trim();
    default:
      return value;
  }
}

function parseEnv(node: Node | undefined, report: Report): Record<string, string> {
  const env: Record<string, string> = {};
  if (node === undefined) return env;
  if (!isMap(node)) {
    report(node, "env is a mapping of variable names to values");
    return env;
  }
  for (const pair of (node as YAMLMap).items) {
    const key = String((pair.key as { value?: unknown }).value);
    if (!ENV_NAME_PATTERN.test(key)) report(pair.key as Node, `env: ${JSON.stringify(key)} is not a valid variable name`);
    const v = pair.value as Node | null;
    if (!isScalar(v) || v.value === null || typeof v.value === "object") report(v ?? (pair.key as Node), `env ${key}: the value must be a string, number or bool`);
    else {
      env[key] = String(v.value);
      const itself = ENV_NAME_PATTERN.test(key) ? selfReference(key, env[key]) : undefined;
      if (itself !== undefined) {
        const fixed = env[key].replaceAll(itself, `{{ env.${key} }}`);
        report(v, `env ${key}: ${JSON.stringify(env[key])} would hold the characters ${itself}, not ${key}'s value (an env value is put in as written, not expanded by a shell): write ${JSON.stringify(fixed)}`);
      }
    }
  }
  return env;
}

/**
 * `$NAME` or `${NAME}` in the value of NAME (`PATH: "$PATH:./bin"`), as a
 * shell or compose file would expand it: an env value is put in as it is,
 * as GitHub Actions puts its, so the variable would hold those characters
 * (a PATH of `$PATH:./bin` finds no command). `{{ env.NAME }}` is the way.
 */
function selfReference(name: string, value: string): string | undefined {
  return new RegExp(`\\$(?:\\{${name}\\}|${name}(?![A-Za-z0-9_]))`).exec(value)?.[0];
}

/** `inMatrix`: checked once its matrix's values are put in (expandMatrix): a port of each combination's, say. */
function parseReadiness(node: Node | undefined, report: Report, inMatrix: boolean): Readiness | undefined {
  if (node === undefined) return undefined;
  if (!isMap(node)) {
    report(node, "readiness is a mapping with http, tcp or cmd, and optional interval, timeout and health_interval");
    return undefined;
  }
  refuseUnknownKeys(node, READINESS_KEYS, "readiness", report);
  const str = (key: string): string | undefined => optionalString(node.get(key, true) as Node | undefined, report, `readiness.${key}`);
  const readiness: Readiness = {
    http: str("http"),
    tcp: str("tcp"),
    cmd: str("cmd"),
    intervalMs: duration(node.get("interval", true) as Node | undefined, READINESS_DEFAULT_INTERVAL_MS, report, "readiness.interval"),
    timeoutMs: duration(node.get("timeout", true) as Node | undefined, READINESS_DEFAULT_TIMEOUT_MS, report, "readiness.timeout"),
    healthIntervalMs: duration(node.get("health_interval", true) as Node | undefined, HEALTH_DEFAULT_INTERVAL_MS, report, "readiness.health_interval"),
  };
  if (!inMatrix) for (const problem of readinessProblems(readiness)) report(node, problem);
  return readiness;
}
