/**
 * `tether exec WS [options] [--] CMD ARGS...` and `tether pty WS [options]
 * [--] [CMD ARGS...]`: the options and WS before the command line it runs;
 * that command line after `--`, or from the first word after WS that is
 * neither an option nor an option's value (`valueOptions` take the word
 * after them), as `docker exec` reads it. Everything from there on is the
 * command's own, options and `--help` included.
 */
export function splitCommand(args: readonly string[], valueOptions: ReadonlySet<string>): { options: string[]; command: string[] } {
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
