import { resolve } from "node:path";
import type { CommandProblem } from "../process/command-problem.js";
import type { TaskDef } from "../tasks/types.js";
import { resolveCwd } from "../workspaces/workspace-paths.js";
import { readEnvFiles } from "./env-files.js";
import type { RunEnvironment, RunStart } from "./live-run.js";
import { forgottenSecrets, renderRunCommand, runCommandProblem } from "./run-command.js";
import { SecretMask } from "./secret-mask.js";
import type { SessionValues } from "./session-values.js";
import type { SessionRecord, SessionSpec, SessionWorkspace } from "./types.js";

/** A run about to launch: the command it shows, what its process starts with, and why it cannot start, when it cannot (its exit 126 or 127). */
export interface PreparedRun {
  readonly display: string;
  readonly start: RunStart;
  readonly cannot: CommandProblem | undefined;
}

/**
 * Prepares run `run` of `task` in `session`: its place (runPlace), its
 * task's env_files read afresh, its command rendered with `values` (the
 * real secrets), and what keeps it from starting:
 * its place, a secret the daemon has forgotten, an env file, or its
 * program (runCommandProblem).
 */
export function prepareRun(session: SessionRecord, task: TaskDef, run: number, values: SessionValues, environment: RunEnvironment): PreparedRun {
  const { secrets } = values;
  const { spec, id: sessionId } = session;
  const { workspace, cwd, problem: placeProblem } = runPlace(spec, task, environment.unusable);
  const files = readEnvFiles(task.envFiles ?? []);
  const problem = placeProblem ?? forgottenSecrets(sessionId, spec.secretInputs, secrets) ?? files.problem;
  const { argv, display, env } = renderRunCommand(task, {
    sessionId,
    run,
    scope: values.scope(true),
    shownInputs: spec.inputs,
    workspace: workspace?.id,
    workspaceEnv: workspace === undefined ? {} : environment.workspaceEnv(workspace.id),
    fileEnv: files.env,
    daemonEnv: environment.baseEnv,
    sessionEnv: spec.env,
  });
  const mask = SecretMask.of(Object.values(secrets));
  const cannot = problem !== undefined ? { message: problem, exitCode: 127 as const } : runCommandProblem(task, argv, cwd, env, mask);
  return { display, cannot, start: { argv, cwd, env, stdin: task.stdin === "stream", workspace, sessionId, mask } };
}

/**
 * Where a run of `task` runs: the workspace the task names, else the
 * session's; its working directory there (the task's `cwd`, relative to the
 * root, which it must resolve inside, symlinks followed, as an exec's; or
 * the root); and why it cannot start there, when it cannot (the workspace
 * removed since the session pinned it, as before a keep_open session's next
 * run or a retry; a cwd that escapes).
 */
export function runPlace(spec: SessionSpec, task: TaskDef, unusable: RunEnvironment["unusable"]): { workspace: SessionWorkspace | undefined; cwd: string; problem: string | undefined } {
  const workspace = spec.taskWorkspaces?.[task.name] ?? spec.workspace;
  const root = workspace?.root ?? spec.workingDirectory;
  const gone = workspace === undefined ? undefined : unusable(workspace.id);
  try {
    return { workspace, cwd: resolveCwd(root, task.cwd ?? ""), problem: gone };
  } catch (error) {
    return { workspace, cwd: resolve(root, task.cwd ?? "."), problem: gone ?? (error as Error).message };
  }
}
