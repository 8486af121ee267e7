import { commandLine } from "../../common/format.js";
import { commandProblem, type CommandProblem } from "../process/command-problem.js";
import { renderTemplate, type TemplateScope } from "../tasks/template.js";
import type { TaskDef } from "../tasks/types.js";
import type { SecretMask } from "./secret-mask.js";
import type { SessionEnv } from "./types.js";

/** What one run executes, rendered once at launch. */
export interface RunCommand {
  readonly argv: readonly string[];
  /** The command as the user wrote it, with secrets shown as placeholders: what is stored and listed. */
  readonly display: string;
  readonly env: Record<string, string | undefined>;
}

export interface RunCommandContext {
  readonly sessionId: string;
  readonly run: number;
  /** Template values with the real secrets: for what the process gets. */
  readonly scope: TemplateScope;
  /** The stored inputs (secrets as placeholders): for what is shown. */
  readonly shownInputs: Readonly<Record<string, string>>;
  /** The id of the workspace the run executes in (absent in sessions recorded before workspaces). */
  readonly workspace: string | undefined;
  /** The variables of its workspace's env (ws create --env), as the run starts. */
  readonly workspaceEnv: Readonly<Record<string, string>>;
  /** The variables of the task's env_files (env-files.ts), read for this run. */
  readonly fileEnv: Readonly<Record<string, string>>;
  /** The daemon's env, the first a run gets. */
  readonly daemonEnv: Readonly<Record<string, string | undefined>>;
  /** What the session's start gave (run -E, --env). */
  readonly sessionEnv: SessionEnv | undefined;
}

/**
 * Renders a task for one run: its argv (a shell string runs with /bin/sh -c),
 * the command to display, and its env (the daemon's env, its workspace's,
 * what the session inherited (run -E), the task's env_files', the task's
 * env, what the session was given (run --env), then TETHER_SESSION,
 * TETHER_RUN, TETHER_TASK, TETHER_WORKSPACE as an exec's, and
 * TETHER_INPUT_<NAME>). Templates see the daemon's env and the session's
 * (templateEnv), as the session's condition did.
 */
export function renderRunCommand(task: TaskDef, context: RunCommandContext): RunCommand {
  const shown: TemplateScope = { ...context.scope, inputs: context.shownInputs };
  const env: Record<string, string | undefined> = { ...context.daemonEnv, ...context.workspaceEnv, ...context.sessionEnv?.inherited, ...context.fileEnv };
  for (const [k, v] of Object.entries(task.env)) env[k] = renderTemplate(v, context.scope);
  Object.assign(env, context.sessionEnv?.given);
  for (const [k, v] of Object.entries(context.scope.inputs)) env[`TETHER_INPUT_${k.toUpperCase()}`] = v;
  env["TETHER_SESSION"] = context.sessionId;
  env["TETHER_RUN"] = String(context.run);
  env["TETHER_TASK"] = task.name;
  if (context.workspace !== undefined) env["TETHER_WORKSPACE"] = context.workspace;
  const cmd = task.cmd;
  // A group's run is never started (RunGraph.pendingFate): its upstreams done, it is done.
  if (cmd === undefined) throw new Error(`task ${task.name} is a group of its upstreams: it has no command to run`);
  const argv = cmd.kind === "shell" ? ["/bin/sh", "-c", renderTemplate(cmd.script, context.scope)] : cmd.argv.map((a) => renderTemplate(a, context.scope));
  return { argv, display: shownCommand(task, shown), env };
}

/** A task's command as it is shown: rendered with `shown` (secrets as placeholders), the placeholders of a space in `kept` as written; "" for a group. */
export function shownCommand(task: TaskDef, shown: TemplateScope, kept?: ReadonlySet<string>): string {
  if (task.cmd === undefined) return "";
  return task.cmd.kind === "shell" ? renderTemplate(task.cmd.script, shown, kept) : commandLine(task.cmd.argv.map((a) => renderTemplate(a, shown, kept)));
}

/**
 * Why no run of session `sessionId` can start any more, if that is so: a
 * secret input's value lives only in the memory of the daemon that started
 * the session (it is never stored), so after a daemon restart a keep_open
 * session's next run would get the placeholder in its place.
 */
export function forgottenSecrets(sessionId: string, secretInputs: readonly string[], secrets: Readonly<Record<string, string>>): string | undefined {
  const forgotten = secretInputs.filter((name) => secrets[name] === undefined);
  if (forgotten.length === 0) return undefined;
  const inputs = forgotten.map((name) => `--input ${name}=...`).join(" ");
  return `the secret input(s) ${forgotten.join(", ")} of session ${sessionId} were kept only in the memory of the daemon that started it, which has stopped since (a secret is never stored): start the task again with tether rerun ${sessionId} ${inputs}`;
}

/**
 * Why a run's command cannot start, checked before it does, as an exec's is
 * (see commandProblem): its argv[0] looked up as execvp would. A shell
 * command's is /bin/sh, always there: the shell names what it cannot run.
 * What it says is `mask`ed.
 */
export function runCommandProblem(task: TaskDef, argv: readonly string[], cwd: string, env: Readonly<Record<string, string | undefined>>, mask: SecretMask | undefined): CommandProblem | undefined {
  if (task.cmd?.kind !== "argv") return undefined;
  const problem = commandProblem(argv[0]!, cwd, env["PATH"] ?? "");
  if (problem === undefined) return undefined;
  // The program's name is said, and a secret input may have rendered it.
  const said = `cannot start ${argv[0]}: ${problem.message}`;
  return { message: mask?.hideIn(said) ?? said, exitCode: problem.exitCode };
}
