import { Code } from "@connectrpc/connect";
import { choicesHint } from "../../common/closest-word.js";
import { TetherError } from "../errors.js";
import type { TaskDef, TaskFile } from "./types.js";

/** The first cycle found among the upstream links, as a closed path ["a", "b", "a"]. */
export function findCycle(tasks: ReadonlyMap<string, TaskDef>): string[] | undefined {
  const state = new Map<string, "visiting" | "done">();
  const path: string[] = [];
  const visit = (name: string): string[] | undefined => {
    if (state.get(name) === "done") return undefined;
    if (state.get(name) === "visiting") return [...path.slice(path.indexOf(name)), name];
    state.set(name, "visiting");
    path.push(name);
    for (const up of tasks.get(name)?.upstream ?? []) {
      if (!tasks.has(up)) continue;
      const cycle = visit(up);
      if (cycle !== undefined) return cycle;
    }
    path.pop();
    state.set(name, "done");
    return undefined;
  };
  for (const name of tasks.keys()) {
    const cycle = visit(name);
    if (cycle !== undefined) return cycle;
  }
  return undefined;
}

/** The main task and its transitive upstreams, upstreams before downstreams (the task file must be acyclic). */
export function resolveGraph(tasks: ReadonlyMap<string, TaskDef>, main: string): TaskDef[] {
  const order: TaskDef[] = [];
  const seen = new Set<string>();
  const visit = (name: string): void => {
    if (seen.has(name)) return;
    seen.add(name);
    const task = tasks.get(name);
    if (task === undefined) return;
    for (const up of task.upstream) visit(up);
    order.push(task);
  };
  visit(main);
  return order;
}

/** Task `main` of `file` and its upstreams (resolveGraph); NOT_FOUND, naming the file's tasks, when it has no task of that name. */
export function mainTaskGraph(file: TaskFile, main: string): TaskDef[] {
  if (!file.tasks.has(main)) {
    throw new TetherError(Code.NotFound, "TASK_NOT_FOUND", `no task ${JSON.stringify(main)} in ${file.path}: ${choicesHint(main, [...file.tasks.keys()], "tasks")}`, { task: main, file: file.path });
  }
  return resolveGraph(file.tasks, main);
}

/**
 * The tasks `name` stands for among `tasks` (a session's graph): itself,
 * or, for a group (no cmd: a matrix task, `ci: { upstream: [test, lint] }`),
 * the tasks it groups, through groups of groups. What `logs --task` and
 * `kill --task` take: a group's output and runs are its members'.
 */
export function groupMembers(tasks: readonly TaskDef[], name: string): Set<string> {
  const byName = new Map(tasks.map((t) => [t.name, t]));
  const members = new Set<string>();
  const visit = (task: string): void => {
    const def = byName.get(task);
    if (def === undefined || def.cmd !== undefined) members.add(task);
    else for (const up of def.upstream) visit(up);
  };
  visit(name);
  return members;
}
