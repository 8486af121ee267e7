import { parseArgs, type ParseArgsConfig } from "node:util";
import { closestWord } from "../common/closest-word.js";

/**
 * Other tools' spellings of an option tether spells its own way: docker
 * exec's working directory, Taskfile's concurrency, journalctl's lines,
 * just's and Taskfile's variables.
 */
const OTHER_SPELLINGS: Readonly<Record<string, string>> = {
  "-w": "--cwd",
  "--workdir": "--cwd",
  "--concurrency": "--parallel",
  "--jobs": "--parallel",
  "--lines": "--tail",
  "--background": "--detach",
  "--var": "--input",
  "--set": "--input",
  "--arg": "--input",
  // docker run's; Node 20 reads a file given so itself, wherever it stands (flags.ts ENV_FLAGS).
  "--env-file": "--dotenv",
};

/**
 * node:util's parseArgs, with an unknown option refused in tether's words:
 * the command's option meant when one is close (`--folow`: --follow), or
 * its spelling of another tool's (docker exec's `-w`: --cwd). The error
 * keeps parseArgs's code, so it is still a usage error (exit 2, the
 * command's --help named); `--help` keeps parseArgs's own (see main.ts).
 */
export function parseCommandLine<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const option = /^Unknown option '([^']+)'/.exec((error as Error).message)?.[1];
    if (code !== "ERR_PARSE_ARGS_UNKNOWN_OPTION" || option === undefined || option === "--help" || option === "-h") throw error;
    throw Object.assign(new Error(`unknown option ${option}${meantOption(option, config.options ?? {})}`), { code });
  }
}

/** `: did you mean --X?` for an unknown option, or nothing where no option of `options` is near. */
function meantOption(option: string, options: NonNullable<ParseArgsConfig["options"]>): string {
  // Every command takes --help too (main.ts).
  const names = ["--help", ...Object.entries(options).flatMap(([long, { short }]) => [`--${long}`, ...(short === undefined ? [] : [`-${short}`])])];
  const other = OTHER_SPELLINGS[option];
  const meant = other !== undefined && names.includes(other) ? other : option.startsWith("--") ? closestWord(option, names.filter((name) => name.startsWith("--"))) : undefined;
  return meant === undefined ? "" : `: did you mean ${meant}?`;
}

/**
 * `tether exec WS [options] [--] CMD ARGS...` and `tether pty WS [options]
 * [--] [CMD ARGS...]`: the options and WS before the command line it runs;
 * that command line after `--`, or from the first word after WS that is
 * neither an option nor an option's value (the `options` of type string
 * take the word after them), as `docker exec` reads it. Everything from
 * there on is the command's own, options and `--help` included.
 */
export function splitCommand(args: readonly string[], optionsConfig: NonNullable<ParseArgsConfig["options"]>): { options: string[]; command: string[] } {
  const valueOptions = new Set(
    Object.entries(optionsConfig)
      .filter(([, option]) => option.type === "string")
      .flatMap(([name, option]) => [`--${name}`, ...(option.short === undefined ? [] : [`-${option.short}`])]),
  );
  const options: string[] = [];
  let positionals = 0;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") return { options, command: args.slice(i + 1) };
    if (arg.startsWith("-") && arg !== "-") {
      options.push(arg);
      if (valueOptions.has(arg) && i + 1 < args.length) options.push(args[++i]!);
    } else if (positionals++ === 0) {
      options.push(arg);
    } else {
      return { options, command: args.slice(i) };
    }
  }
  return { options, command: [] };
}
