import { ExecService } from "../../gen/tether/v1/exec_service_pb.js";
import { PtyService } from "../../gen/tether/v1/pty_service_pb.js";
import { SessionService } from "../../gen/tether/v1/session_service_pb.js";
import { TaskInputType, type Task } from "../../gen/tether/v1/task_pb.js";
import { TaskService } from "../../gen/tether/v1/task_service_pb.js";
import { WorkspaceService } from "../../gen/tether/v1/workspace_service_pb.js";
import { CliError } from "../cli-error.js";
import { COMMAND_USAGE } from "../command-usage.js";
import { complete, type LookupContext, type ValueKind } from "../completions.js";
import { GrpcClient } from "../grpc-client.js";
import type { ClientPaths } from "../paths.js";
import { socketAnswers } from "../socket-probe.js";
import { DEFAULT_TASK, findTaskFile } from "../task-file.js";
import { graphOf } from "./run.js";

export const COMPLETION_USAGE = `  tether completion bash|zsh|fish             a script that completes tether's commands, options, sessions,
                                              workspaces, execs, PTYs and tasks on Tab:
                                              source <(tether completion bash) in ~/.bashrc`;

/** The longest a Tab waits for the daemon's lists: a slow answer completes nothing rather than hang the shell. */
const LOOKUP_TIMEOUT_MS = 2_000;
/** How many sessions, execs and PTYs are offered, newest first. */
const LISTED = 200;

// Each shell's script asks `tether __complete WORD...` (the words after tether up to the cursor, the
// last the one being completed) for the candidates, one per line; none leaves the shell's own (file names).
const SCRIPTS: Readonly<Record<string, string>> = {
  bash: `# tether completion for bash: source <(tether completion bash)
_tether() {
  local line=\${COMP_LINE:0:COMP_POINT}
  local -a words
  read -r -a words <<< "$line"
  [[ -z $line || $line == *[[:space:]] ]] && words+=("")
  local IFS=$'\n' word=\${words[-1]}
  COMPREPLY=($(command tether __complete "\${words[@]:1}" 2>/dev/null))
  # A word with a colon or = (build:prod, mode=dev) is several words to bash: it replaces what follows the last of them.
  local breaks=""
  [[ $COMP_WORDBREAKS == *:* ]] && breaks+=":"
  [[ $COMP_WORDBREAKS == *=* ]] && breaks+="="
  if [[ -n $breaks && $word == *["$breaks"]* ]]; then
    local cut=\${word%"\${word##*["$breaks"]}"}
    COMPREPLY=("\${COMPREPLY[@]#"$cut"}")
  fi
  # NAME= waits for its value: no space after it (the word itself when the cut left the reply empty).
  [[ \${#COMPREPLY[@]} -eq 1 && $word\${COMPREPLY[0]} == *= ]] && compopt -o nospace
}
complete -o default -o nosort -F _tether tether
`,
  zsh: `#compdef tether
# tether completion for zsh: source <(tether completion zsh) (after compinit)
_tether() {
  local -a candidates
  candidates=("\${(@f)$(command tether __complete "\${(@)words[2,CURRENT]}" 2>/dev/null)}")
  candidates=(\${candidates:#})
  if (( \${#candidates} )); then
    # NAME= waits for its value: no space after it.
    compadd -Q -S '' -- "\${(@M)candidates:#*=}"
    compadd -Q -- "\${(@)candidates:#*=}"
  else
    _files
  fi
}
compdef _tether tether
`,
  fish: `# tether completion for fish: tether completion fish | source
function __tether_complete
    set -l current (commandline -ct)
    set -l candidates (command tether __complete (commandline -opc)[2..-1] "$current" 2>/dev/null)
    if test (count $candidates) -gt 0
        printf '%s\\n' $candidates
    else
        __fish_complete_path "$current"
    end
end
complete -c tether -f -a '(__tether_complete)'
`,
};

/** `tether completion SHELL`: the script that makes SHELL complete tether's words. */
export function completionCommand(args: string[]): number {
  const script = args.length === 1 ? SCRIPTS[args[0]!] : undefined;
  if (script === undefined) throw new CliError(`usage:\n${COMPLETION_USAGE}\n(the shells are ${Object.keys(SCRIPTS).join(", ")})`, 2);
  process.stdout.write(script);
  return 0;
}

/**
 * `tether __complete WORD...`: the candidates for the last word, one per
 * line. It never starts a daemon (a Tab should not), and without one it
 * offers commands and options only.
 */
export async function completeCommand(words: string[], commands: readonly string[], paths: ClientPaths): Promise<number> {
  let client: GrpcClient | undefined;
  const lookup = async (kind: ValueKind, context: LookupContext): Promise<readonly string[]> => {
    if (client === undefined) {
      if (!(await socketAnswers(paths.socketPath))) return [];
      client = new GrpcClient(paths.socketPath);
    }
    return valuesOf(client, kind, context, AbortSignal.timeout(LOOKUP_TIMEOUT_MS)).catch(() => []);
  };
  const usageOf = async (command: string): Promise<string | undefined> => (Object.hasOwn(COMMAND_USAGE, command) ? COMMAND_USAGE[command]!() : undefined);
  const candidates = await complete(words, commands, usageOf, lookup);
  client?.close();
  process.stdout.write(candidates.map((c) => `${c}\n`).join(""));
  return 0;
}

async function valuesOf(client: GrpcClient, kind: ValueKind, context: LookupContext, signal: AbortSignal): Promise<string[]> {
  // The task file a run's words name (--file), else the one above the current directory.
  const at = context.args.findIndex((arg) => arg === "--file" || arg === "-f");
  const file = at === -1 ? undefined : context.args[at + 1];
  const tasks = async (): Promise<Task[]> => (await client.unary(TaskService.method.listTasks, { taskFile: findTaskFile(file) }, { signal })).tasks;
  switch (kind) {
    case "session":
      return (await client.unary(SessionService.method.listSessions, { pageSize: LISTED }, { signal })).sessions.map((s) => s.id);
    case "workspace":
      return (await client.unary(WorkspaceService.method.listWorkspaces, { pageSize: LISTED }, { signal })).workspaces.map((w) => w.displayName);
    case "exec":
      // A name names the running exec that has it, else the newest that had it: each offered once.
      return [...new Set((await client.unary(ExecService.method.listExecs, { pageSize: LISTED }, { signal })).execs.flatMap((e) => (e.displayName === "" ? [e.id] : [e.displayName, e.id])))];
    case "pty":
      return (await client.unary(PtyService.method.listPtys, { pageSize: LISTED, openOnly: true }, { signal })).ptys.flatMap((p) => (p.displayName === "" ? [p.id] : [p.displayName, p.id]));
    case "task":
      return (await tasks()).map((t) => t.name.slice("tasks/".length));
    case "input":
      return inputWords(await tasks(), context.positionals[0] ?? DEFAULT_TASK);
  }
}

/**
 * What `--input` of a run of `main` takes: NAME= for each input of its
 * graph, and NAME=VALUE for each value a choice or a bool input may have.
 */
function inputWords(tasks: readonly Task[], main: string): string[] {
  return graphOf(tasks, main).flatMap((task) => task.inputs).flatMap((input) => {
    const values = input.type === TaskInputType.BOOL ? ["true", "false"] : input.choices;
    return [`${input.name}=`, ...values.map((value) => `${input.name}=${value}`)];
  });
}
