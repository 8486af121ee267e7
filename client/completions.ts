/**
 * What Tab offers after `tether`: commands, subcommands, options, and the
 * values a word may take (a session, a workspace, a task ...), read from the
 * same usage text --help shows, so completion says what the usage says.
 */

/**
 * What the values of a kind of word are (sessions, workspaces ...): looked
 * up where they live. `context`: the command's words typed so far, its
 * options as typed and its positional words (a run's task, for its inputs).
 */
export type Lookup = (kind: ValueKind, context: LookupContext) => Promise<readonly string[]>;

export interface LookupContext {
  readonly args: readonly string[];
  readonly positionals: readonly string[];
}

/** Words whose values are looked up, named as the usage names them (S, WS, E, P, TASK) or by their flag. */
export type ValueKind = "session" | "workspace" | "exec" | "pty" | "task" | "input";

const PLACEHOLDER_KINDS: Readonly<Record<string, ValueKind>> = { S: "session", WS: "workspace", E: "exec", P: "pty", TASK: "task" };
/** By flag, or by command and flag where the flag means another thing elsewhere (attach's --input is a stream). */
const FLAG_KINDS: Readonly<Record<string, ValueKind>> = { "--ws": "workspace", "--task": "task", "--session": "session", "run --input": "input", "run --after": "session", "exec --after": "exec" };
/** Values of flags that take one of a few words the usage does not spell out. */
const FLAG_WORDS: Readonly<Record<string, readonly string[]>> = {
  "--status": ["open", "closed", "cancelled", "expired", "idle", "queued", "running", "waiting", "succeeded", "failed"],
  "--signal": ["SIGTERM", "SIGINT", "SIGHUP", "SIGKILL", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGSTOP", "SIGCONT", "SIGWINCH"],
  "--restart": ["no", "on-failure", "always", "unless-stopped"],
};

/** One usage line's synopsis, read: the (sub)command, its options, which take a value, and its positional words in order. */
interface Synopsis {
  readonly command: string;
  readonly sub: string | undefined;
  readonly options: string[];
  /** What each option taking a value takes, as the usage writes it (DIR, host|bwrap). */
  readonly values: Map<string, string>;
  /** The positional words (S, WS, TASK ...); the last repeats when written `S...`; none past `--`. */
  readonly positionals: string[];
  readonly repeats: boolean;
}

/**
 * The synopses of a command's usage text: each line starting `tether CMD`
 * (after `usage:` or `... |`), up to two blanks in a row (where its
 * description starts), with its continuation lines (indented, starting
 * with `[` or `-`).
 */
export function synopses(usage: string): Synopsis[] {
  const texts: string[] = [];
  for (const line of usage.split("\n")) {
    const trimmed = line.replace(/^usage:/, "").replace(/^\s*(\.\.\. \| )?/, "");
    const indent = line.length - line.trimStart().length;
    if (trimmed.startsWith("tether ")) texts.push(trimmed.split(/ {2,}/)[0]!);
    else if (texts.length > 0 && indent < 40 && /^[[-]/.test(trimmed)) texts[texts.length - 1] += ` ${trimmed.split(/ {2,}/)[0]!}`;
  }
  // `tether exec rm E... | exec rm --ended [WS]`: two synopses.
  return texts.flatMap((text) => text.split(/ \| (?=[a-z]+ [a-z]+ )/).map((part, i) => (i === 0 ? part : `tether ${part}`))).flatMap((text) => readSynopsis(text.split(/\s+/)));
}

/** One synopsis's words: one Synopsis per subcommand it names. */
function readSynopsis(tokens: string[]): Synopsis[] {
  const [, command, second] = tokens;
  if (command === undefined) return [];
  // `tether daemon run | start | stop | status`, `tether completion bash|zsh|fish`: one synopsis per alternative.
  const subs: Array<string | undefined> = [];
  let at = 2;
  if (second !== undefined && /^[a-z]/.test(second)) {
    subs.push(...second.split("|"));
    for (at = 3; tokens[at] === "|" && tokens[at + 1] !== undefined && /^[a-z]/.test(tokens[at + 1]!); at += 2) subs.push(tokens[at + 1]);
  } else {
    subs.push(undefined);
  }
  const options: string[] = [];
  const values = new Map<string, string>();
  const positionals: string[] = [];
  let repeats = false;
  for (let i = at; i < tokens.length; i++) {
    const token = tokens[i]!;
    const word = token.replace(/[[\]]/g, "");
    // `[[--] CMD ...]`: what follows is the command it runs.
    if (word === "--") break;
    if (token === "|") continue;
    if (word.startsWith("-") && word.length > 1) {
      const names = word.split("/").filter((name) => name.startsWith("-"));
      options.push(...names);
      // Its value is the next word within its own brackets: `[--cwd DIR]`, `[--remove k ...]`, not `[-d [-i]]` or `--ended [WS]`.
      const next = tokens[i + 1];
      if (!token.endsWith("]") && next !== undefined && !/^[[|-]/.test(next) && !next.replace(/]/g, "").endsWith("...")) {
        for (const name of names) values.set(name, next.replace(/]/g, ""));
        i++;
      }
    } else if (/^[A-Z]/.test(word) && !repeats) {
      positionals.push(word.replace(/\.\.\.$/, ""));
      repeats = word.endsWith("...");
    }
  }
  return subs.map((sub) => ({ command, sub, options, values, positionals, repeats }));
}

/**
 * The candidates for the last of `words` (the words after `tether`, the
 * last the one being completed, maybe empty) that start with it. `usageOf`
 * gives a command's usage text; `lookup` the values of a kind of word.
 * Nothing means the shell's own completion (file names) applies: after `--`
 * of exec and pty, and for a path.
 */
export async function complete(words: readonly string[], commands: readonly string[], usageOf: (command: string) => Promise<string | undefined>, lookup: Lookup): Promise<string[]> {
  const current = words.at(-1) ?? "";
  const before = words.slice(0, -1);
  // The word as typed is no candidate when others go on from it (mode= then mode=dev, mode=prod).
  const starting = (candidates: readonly string[]): string[] => {
    const found = [...new Set(candidates)].filter((c) => c.startsWith(current));
    return found.length > 1 ? found.filter((c) => c !== current) : found;
  };
  if (before.length === 0) return starting(commands);
  const [command, ...rest] = before as [string, ...string[]];
  if (command === "help") return rest.length === 0 ? starting(commands.filter((c) => c !== "help")) : [];
  const usage = await usageOf(command);
  if (usage === undefined) return [];
  const all = synopses(usage).filter((s) => s.command === command);
  const subs = all.flatMap((s) => (s.sub === undefined ? [] : [s.sub]));
  const sub = rest.length > 0 && subs.includes(rest[0]!) ? rest[0] : undefined;
  const own = all.filter((s) => s.sub === sub);
  const args = sub === undefined ? rest : rest.slice(1);
  if (args.includes("--")) return [];
  const options = own.flatMap((s) => s.options);
  const takesValue = (option: string): string | undefined => own.find((s) => s.values.has(option))?.values.get(option);
  // The word after an option that takes a value is that value.
  const previous = args.at(-1);
  const value = previous?.startsWith("-") === true && !previous.includes("=") ? takesValue(previous) : undefined;
  if (value !== undefined) {
    const kind = FLAG_KINDS[`${command} ${previous!}`] ?? FLAG_KINDS[previous!];
    if (kind !== undefined) return starting(await lookup(kind, { args, positionals: positionalsOf(args, takesValue) }));
    if (FLAG_WORDS[previous!] !== undefined) return starting(FLAG_WORDS[previous!]!);
    return /^[a-z-]+(\|[a-z-]+)+$/.test(value) ? starting(value.split("|")) : [];
  }
  if (current.startsWith("-")) return starting([...options, "--help"]);
  const typed = positionalsOf(args, takesValue);
  const index = typed.length;
  // Past the positionals the usage names (exec WS CMD ...: the command it runs) nothing is offered.
  const positional = own.find((s) => s.positionals.length > 0);
  const placeholder = positional === undefined ? undefined : (positional.positionals[index] ?? (positional.repeats ? positional.positionals.at(-1) : undefined));
  const kind = placeholder === undefined ? undefined : PLACEHOLDER_KINDS[placeholder];
  const found = kind === undefined ? [] : await lookup(kind, { args, positionals: typed });
  return starting(sub === undefined && index === 0 && args.length === 0 ? [...subs, ...found] : found);
}

/** The positional words among a command's `args` (the words after an option that takes a value are its value). */
function positionalsOf(args: readonly string[], takesValue: (option: string) => string | undefined): string[] {
  const positionals: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith("-") || arg === "-") positionals.push(arg);
    else if (!arg.includes("=") && takesValue(arg) !== undefined) i++;
  }
  return positionals;
}
