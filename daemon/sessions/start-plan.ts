import { dirname, resolve } from "node:path";
import { TetherError } from "../errors.js";
import { isTruthy, placeholders, renderTemplate, type TemplateScope } from "../tasks/template.js";
import type { TaskDef, TaskFile } from "../tasks/types.js";
import type { WorkspaceRecord } from "../workspaces/types.js";
import type { Workspaces } from "../workspaces/workspaces.js";
import { shownCommand } from "./run-command.js";
import { resolveInputs } from "./session-inputs.js";

/** What a task's condition says before its session starts: none; true or false now; or reading an upstream's xcom, decided when the task is reached. */
export type PlannedCondition = "none" | "holds" | "fails" | "deferred";

/** Where a planned task would run: a workspace, or a directory the session would adopt as one when it starts. */
export type PlannedPlace = { readonly workspace: WorkspaceRecord } | { readonly adopts: string };

export interface PlannedTask {
  readonly task: TaskDef;
  /** The line of the task file that names it. */
  readonly line: number | undefined;
  /** Its command as its run would show it, `{{ xcom.TASK }}` as written. */
  readonly command: string;
  readonly condition: PlannedCondition;
  readonly place: PlannedPlace;
  /** The directory it would run in. */
  readonly cwd: string;
}

/** What a session started now would run (tether run --dry-run). */
export interface StartPlan {
  readonly taskFile: string;
  /** The inputs as the session would record them (secrets as placeholders). */
  readonly inputs: Readonly<Record<string, string>>;
  /** The main task's graph, each task after its upstreams. */
  readonly tasks: readonly PlannedTask[];
  /** The session's place: where its tasks run but those that name a workspace of their own. */
  readonly place: PlannedPlace;
}

/** An upstream's result is known once it has run: a plan keeps `{{ xcom.TASK }}` as written. */
const KNOWN_LATER: ReadonlySet<string> = new Set(["xcom"]);

/**
 * Plans a session of `graph` (read from `file`) as Sessions.start would
 * start it, starting and adopting nothing: its inputs checked as a start
 * checks them (resolveInputs throws as it does), each task's command
 * rendered with them and the daemon's env (`env`, which its templates see),
 * its condition decided where no xcom is read, and where it would run
 * (`workspace` as StartSessionRequest names it, or the task's own).
 */
export function planStart(file: TaskFile, graph: readonly TaskDef[], given: Readonly<Record<string, string>>, workspace: string, workspaces: Workspaces, env: TemplateScope["env"]): StartPlan {
  const { inputs } = resolveInputs(graph.flatMap((t) => t.inputs), given);
  const sessionPlace = placeOf(workspaces.wouldUse(workspace, dirname(file.path)), dirname(file.path));
  const scope: TemplateScope = { inputs, xcom: {}, env };
  const tasks = graph.map((task): PlannedTask => {
    const place = task.workspace === undefined ? sessionPlace : placeOf(inTaskWorkspace(task.name, task.workspace, (ref) => workspaces.wouldUse(ref, "")), task.workspace);
    const root = "workspace" in place ? place.workspace.root : place.adopts;
    return { task, line: file.lines.get(task.name), command: shownCommand(task, scope, KNOWN_LATER), condition: conditionNow(task.condition, scope), place, cwd: resolve(root, task.cwd ?? ".") };
  });
  return { taskFile: file.path, inputs, tasks, place: sessionPlace };
}

/** What `find` finds for the workspace task `task` names (`workspace:`); an error it throws says which task named it. */
export function inTaskWorkspace<T>(task: string, ref: string, find: (ref: string) => T): T {
  try {
    return find(ref);
  } catch (error) {
    if (!(error instanceof TetherError)) throw error;
    throw new TetherError(error.code, error.reason, `task "${task}" runs in workspace ${JSON.stringify(ref)}: ${error.message}`, { ...error.metadata, task });
  }
}

function placeOf(workspace: WorkspaceRecord | undefined, dir: string): PlannedPlace {
  return workspace === undefined ? { adopts: dir } : { workspace };
}

function conditionNow(condition: string | undefined, scope: TemplateScope): PlannedCondition {
  if (condition === undefined) return "none";
  if (placeholders(condition).some((p) => KNOWN_LATER.has(p.space))) return "deferred";
  return isTruthy(renderTemplate(condition, scope)) ? "holds" : "fails";
}
