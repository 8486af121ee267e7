import { isMap, isScalar, isSeq, type Node, type YAMLMap } from "yaml";
import { choicesHint } from "../../common/closest-word.js";
import { renderTemplate, TEMPLATE_SPACES } from "./template.js";
import type { Report } from "./template-checks.js";
import type { Command, TaskDef } from "./types.js";
import { readinessProblems } from "../process/readiness.js";

/** At most this many combinations in one task's matrix, as a GitHub Actions matrix makes at most 256 jobs. */
export const MATRIX_MAX_COMBINATIONS = 256;
const AXIS_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
/** A value is part of its task's name (`test:3.12:linux`): what a task name may hold, but ':'. */
const AXIS_VALUE_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
const TASK_NAME_MAX_LENGTH = 128;

/** A task's `matrix:` (GitHub Actions' strategy.matrix, GitLab's parallel:matrix): its axes' names in the file's order, and each combination of their values it makes. */
export interface Matrix {
  readonly axes: readonly string[];
  readonly combinations: readonly Readonly<Record<string, string>>[];
}

/**
 * Reads a task's `matrix:`, a mapping of axis names to lists of values,
 * and `exclude:`, a list of the combinations to leave out (each a mapping
 * of some axes to a value: every combination with those values goes), as
 * GitHub's. A value is taken as written (`3.10` stays 3.10, not the
 * number 3.1). Undefined when absent, or when it has a problem (reported):
 * one it cannot name tasks after, more than MATRIX_MAX_COMBINATIONS
 * combinations (before exclude).
 */
export function parseMatrix(node: Node | undefined, report: Report): Matrix | undefined {
  if (node === undefined) return undefined;
  const shape = 'matrix is a mapping of names to lists of values: matrix: { python: ["3.11", "3.12"], os: [linux, mac] }';
  if (!isMap(node) || node.items.length === 0) {
    report(node, shape);
    return undefined;
  }
  const axes: { name: string; values: string[] }[] = [];
  // A matrix with a problem makes no tasks: what they would be named is not known.
  let wrong = false;
  const problem: Report = (at, message) => {
    wrong = true;
    report(at, message);
  };
  for (const pair of node.items) {
    const name = String((pair.key as { value?: unknown }).value);
    if (name === "exclude") continue;
    if (!AXIS_NAME_PATTERN.test(name)) problem(pair.key as Node, `matrix: ${JSON.stringify(name)} is no name for an axis: use letters, digits and '_', starting with a letter or '_' ({{ matrix.NAME }} reads its value)`);
    const valuesNode = pair.value as Node | null;
    const items = isSeq(valuesNode) ? (valuesNode.items as Node[]) : [];
    if (items.length === 0 || !items.every((item) => isScalar(item) && item.value !== null && typeof item.value !== "object")) {
      problem(valuesNode ?? (pair.key as Node), `matrix.${name} must be a list of at least one value: ${shape}`);
      continue;
    }
    const values = items.map(asWritten);
    for (const [i, value] of values.entries()) {
      if (!AXIS_VALUE_PATTERN.test(value)) problem(items[i], `matrix.${name}: ${JSON.stringify(value)} cannot be a value: each is part of a task's name (test:3.12:linux), so 1-64 letters, digits, '.', '_' or '-'`);
      else if (values.indexOf(value) !== i) problem(items[i], `matrix.${name} lists ${value} twice: list each value once`);
    }
    axes.push({ name, values: [...new Set(values)] });
  }
  const count = axes.reduce((n, axis) => n * axis.values.length, 1);
  if (axes.length === 0) problem(node, shape);
  else if (count > MATRIX_MAX_COMBINATIONS) problem(node, `matrix makes ${count} combinations of its values, and a task's matrix makes at most ${MATRIX_MAX_COMBINATIONS}: split it into several tasks`);
  const excluded = parseExclude(node.get("exclude", true) as Node | undefined, axes, problem);
  if (wrong) return undefined;
  let combinations: Record<string, string>[] = [{}];
  for (const axis of axes) combinations = combinations.flatMap((combination) => axis.values.map((value) => ({ ...combination, [axis.name]: value })));
  combinations = combinations.filter((combination) => !excluded.some((leave) => Object.entries(leave).every(([axis, value]) => combination[axis] === value)));
  if (combinations.length === 0) report(node.get("exclude", true) as Node, "matrix.exclude leaves out every combination: a matrix makes at least one task");
  return { axes: axes.map((axis) => axis.name), combinations };
}

/** `matrix.exclude`: each entry a mapping of axes to one of their values. */
function parseExclude(node: Node | undefined, axes: readonly { name: string; values: readonly string[] }[], problem: Report): Record<string, string>[] {
  if (node === undefined) return [];
  const shape = "matrix.exclude is a list of the combinations to leave out, each a mapping of axes to a value: exclude: [{ os: mac, python: \"3.11\" }]";
  if (!isSeq(node) || !node.items.every((entry) => isMap(entry) && entry.items.length > 0)) {
    problem(node, shape);
    return [];
  }
  return (node.items as YAMLMap[]).map((entry) => {
    const leave: Record<string, string> = {};
    for (const pair of entry.items) {
      const name = String((pair.key as { value?: unknown }).value);
      const axis = axes.find((a) => a.name === name);
      const value = isScalar(pair.value) ? asWritten(pair.value as Node) : undefined;
      if (axis === undefined) problem(pair.key as Node, `matrix.exclude: ${name} is no axis of the matrix; ${choicesHint(name, axes.map((a) => a.name), "axes")}`);
      else if (value === undefined || !axis.values.includes(value)) problem((pair.value as Node | null) ?? (pair.key as Node), `matrix.exclude: ${name}: ${value === undefined ? "a value" : JSON.stringify(value)} is none of its values (${axis.values.join(", ")})`);
      else leave[name] = value;
    }
    return leave;
  });
}

/** A scalar's value as the file writes it. */
function asWritten(item: Node): string {
  return (item as Node & { source?: string }).source ?? String((item as { value: unknown }).value);
}

/**
 * A task with a matrix as the tasks it stands for: one per combination of
 * its values, named after them (`test:3.12:linux`, the axes in the file's
 * order), each the task with `{{ matrix.NAME }}` put in wherever it is
 * written; then the task itself as a group of them (no command: done once
 * each is), so an upstream naming it, or `tether run` of it, takes every
 * combination, and one of them alone runs by its own name. Reports a name
 * too long or taken by another task (`taken`).
 */
export function expandMatrix(task: TaskDef, matrix: Matrix, taken: (name: string) => boolean, report: Report): TaskDef[] {
  const expanded = matrix.combinations.map((combination) => {
    const name = [task.name, ...matrix.axes.map((axis) => combination[axis]!)].join(":");
    if (name.length > TASK_NAME_MAX_LENGTH) report(undefined, `its matrix makes the task name ${name}, longer than ${TASK_NAME_MAX_LENGTH} characters: shorten the task's name or the values`);
    else if (taken(name)) report(undefined, `its matrix makes the task name ${name}, which another task has: rename one of them`);
    const each = withMatrixValues({ ...task, name }, combination);
    if (each.readiness !== undefined) for (const problem of readinessProblems(each.readiness)) report(undefined, `${name}: ${problem}`);
    return each;
  });
  // What a group has (its description, inputs, the output a session of it keeps): the rest says how a process runs.
  const group: TaskDef = {
    name: task.name,
    // Its combinations' values, each axis's listed: "tests on {{ matrix.python }}" reads "tests on 3.11, 3.12".
    description: putMatrix(task.description, Object.fromEntries(matrix.axes.map((axis) => [axis, [...new Set(matrix.combinations.map((c) => c[axis]))].join(", ")]))),
    cmd: undefined,
    upstream: expanded.map((t) => t.name),
    inputs: task.inputs,
    env: {},
    retries: 0,
    retryDelayMs: 0,
    timeoutMs: 0,
    readiness: undefined,
    condition: undefined,
    keepOpen: false,
    result: undefined,
    cwd: undefined,
    streams: {},
    stdin: "none",
    failFast: false,
    ...(task.maxOutputBytes !== undefined ? { maxOutputBytes: task.maxOutputBytes } : {}),
  };
  return [...expanded, group];
}

/** `{{ matrix.NAME }}` put in wherever a task may hold a template or a value that varies: its command, env, condition, cwd, readiness checks, description. */
function withMatrixValues(task: TaskDef, values: Readonly<Record<string, string>>): TaskDef {
  const put = (template: string): string => putMatrix(template, values);
  const cmd: Command | undefined = task.cmd === undefined ? undefined : task.cmd.kind === "shell" ? { kind: "shell", script: put(task.cmd.script) } : { kind: "argv", argv: task.cmd.argv.map(put) };
  const readiness = task.readiness === undefined ? undefined : { ...task.readiness, http: opt(task.readiness.http, put), tcp: opt(task.readiness.tcp, put), cmd: opt(task.readiness.cmd, put) };
  return {
    ...task,
    description: put(task.description),
    cmd,
    env: Object.fromEntries(Object.entries(task.env).map(([k, v]) => [k, put(v)])),
    condition: opt(task.condition, put),
    cwd: opt(task.cwd, put),
    readiness,
    ...(task.sources !== undefined ? { sources: task.sources.map(put), generates: (task.generates ?? []).map(put) } : {}),
  };
}

/** `template` with its `{{ matrix.NAME }}` put in, every other placeholder as written (rendered as each run starts). */
function putMatrix(template: string, values: Readonly<Record<string, string>>): string {
  return renderTemplate(template, { inputs: {}, xcom: {}, env: {}, matrix: values }, new Set(TEMPLATE_SPACES));
}

function opt(value: string | undefined, put: (template: string) => string): string | undefined {
  return value === undefined ? undefined : put(value);
}
