import { CliError, describeError } from "./cli-error.js";
import { meantSubcommand } from "./command-words.js";
import { COMMAND_USAGE } from "./command-usage.js";
import { resolvePaths } from "./paths.js";
import { CLIENT_VERSION } from "./version.js";

/**
 * The whole usage text. Commands are imported when they run (esbuild then
 * initializes a command's modules, and the protobuf descriptors they embed,
 * only on first use), so only help loads them all.
 */
async function usage(): Promise<string> {
  const u = Object.fromEntries(await Promise.all(Object.entries(COMMAND_USAGE).map(async ([name, load]) => [name, await load()] as const)));
  return `tether ${CLIENT_VERSION}: sessions and workspaces that outlive your terminal

sessions:
${u.init}
${u.run}
${u.rerun}
${u.tasks}
${u.ls}
${u.show}
${u.logs}
${u.start}
${u.cancel}
${u.kill}
${u.rm}

streams:
${u.attach}
${u.send}
${u.read}

workspaces and execs:
${u.ws}
${u.exec}
${u.pty}
${u.stats}

inside a task's run:
${u.output}
${u.wait}
${u.xcom}

${u.daemon}

${u.events}

${u.journal}

${u.completion}
  tether version     print this client's version

Any command but init, daemon and completion starts the daemon when none answers. The daemon listens on $TETHER_SOCKET (default $XDG_RUNTIME_DIR/tether/tether.sock)
and keeps its state in $TETHER_HOME (default $XDG_STATE_HOME/tether).`;
}

/**
 * Whether a command's argument parsing failed on --help or -h: its usage is
 * what was asked for. Left to each command's own parsing, a --help inside a
 * command line it runs (`tether exec ws ls --help`) stays that command's.
 */
function askedForHelp(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" && /^Unknown option '(--help|-h)'/.test((error as Error).message);
}

/** A word that is no command: the one meant when it is close to one (`tether lss`: tether ls) or another tool's word for one (`tether ps`), and where the commands are listed. */
function unknownCommand(command: string): CliError {
  const meant = meantSubcommand("tether", command, [...Object.keys(COMMAND_USAGE), "version", "help"]);
  return new CliError(`unknown command ${JSON.stringify(command)}: ${meant === undefined ? "" : `did you mean tether ${meant}? `}tether --help lists the commands`, 2);
}

/** argv -> command -> exit code; `tether COMMAND --help` -> its usage. */
async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  // `tether help exec`, as git and docker take it, is `tether exec --help`.
  const helpFor = command === "help" && args.length > 0 ? args[0]! : undefined;
  if (helpFor !== undefined && !Object.hasOwn(COMMAND_USAGE, helpFor)) throw unknownCommand(helpFor);
  const named = helpFor ?? command;
  const commandUsage = named !== undefined && Object.hasOwn(COMMAND_USAGE, named) ? COMMAND_USAGE[named] : undefined;
  const usage = async (): Promise<number> => {
    process.stdout.write(`${await commandUsage!()}\n\nRun tether --help for every command.\n`);
    return 0;
  };
  // `tether ws --help`: a command of subcommands takes it where its subcommand goes.
  if (commandUsage !== undefined && (helpFor !== undefined || args[0] === "--help" || args[0] === "-h")) return usage();
  try {
    return await run(command, args);
  } catch (error) {
    if (commandUsage === undefined || !askedForHelp(error)) throw error;
    return usage();
  }
}

async function run(command: string | undefined, args: string[]): Promise<number> {
  const paths = resolvePaths();
  switch (command) {
    case "daemon":
      return (await import("./commands/daemon.js")).daemonCommand(args, paths);
    case "init":
      return (await import("./commands/init.js")).initCommand(args);
    case "run":
      return (await import("./commands/run.js")).runCommand(args, paths);
    case "rerun":
      return (await import("./commands/rerun.js")).rerunCommand(args, paths);
    case "tasks":
      return (await import("./commands/tasks.js")).tasksCommand(args, paths);
    case "ls":
      return (await import("./commands/ls.js")).lsCommand(args, paths);
    case "show":
      return (await import("./commands/show.js")).showCommand(args, paths);
    case "logs":
      return (await import("./commands/logs.js")).logsCommand(args, paths);
    case "start":
      return (await import("./commands/start-session.js")).startSessionCommand(args, paths);
    case "cancel":
    case "close":
      return (await import("./commands/end-session.js")).endSessionCommand(command, args, paths);
    case "kill":
    case "pause":
    case "resume":
      return (await import("./commands/signal-session.js")).signalSessionCommand(command, args, paths);
    case "rm":
      return (await import("./commands/rm.js")).rmCommand(args, paths);
    case "attach":
      return (await import("./commands/attach.js")).attachCommand(args, paths);
    case "send":
      return (await import("./commands/send.js")).sendCommand(args, paths);
    case "read":
      return (await import("./commands/read.js")).readCommand(args, paths);
    case "output":
      return (await import("./commands/output.js")).outputCommand(args, paths);
    case "wait":
      return (await import("./commands/wait.js")).waitCommand(args, paths);
    case "xcom":
      return (await import("./commands/xcom.js")).xcomCommand(args, paths);
    case "ws":
      return (await import("./commands/ws.js")).wsCommand(args, paths);
    case "exec":
      return (await import("./commands/exec.js")).execCommand(args, paths);
    case "pty":
      return (await import("./commands/pty.js")).ptyCommand(args, paths);
    case "journal":
      return (await import("./commands/journal.js")).journalCommand(args, paths);
    case "stats":
      return (await import("./commands/stats.js")).statsCommand(args, paths);
    case "events":
      return (await import("./commands/events.js")).eventsCommand(args, paths);
    case "completion":
      return (await import("./commands/completion.js")).completionCommand(args);
    case "__complete":
      // What the completion scripts ask (a Tab): the candidates for the last word.
      return (await import("./commands/completion.js")).completeCommand(args, [...Object.keys(COMMAND_USAGE), "version", "help"], paths);
    case "version":
    case "--version":
      process.stdout.write(`${CLIENT_VERSION}\n`);
      return 0;
    case undefined:
    case "help":
    case "--help":
    case "-h":
      process.stdout.write(`${await usage()}\n`);
      return 0;
    default:
      throw unknownCommand(command);
  }
}

// Its reader went away (`tether logs S | head`): end at once and quietly, with the status of a
// command killed by SIGPIPE (128+13), as Unix tools do. An exec or a session goes on: the client detached.
// Output that cannot be written (a full disk, /dev/full) ends the command too, saying why, as coreutils do.
for (const out of [process.stdout, process.stderr]) {
  out.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(141);
    if (out === process.stdout) process.stderr.write(`tether: cannot write the output: ${error.message}\n`);
    process.exit(1);
  });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    // A command line node:util's parseArgs refused (an unknown option, a missing value) is a usage error, as CliError's are.
    const code: unknown = (error as { code?: unknown } | undefined)?.code;
    const usage = typeof code === "string" && code.startsWith("ERR_PARSE_ARGS_");
    const command = process.argv[2];
    process.stderr.write(`tether: ${describeError(error)}${usage && command !== undefined && COMMAND_USAGE[command] !== undefined ? `\n(tether ${command} --help shows its usage)` : ""}\n`);
    process.exitCode = error instanceof CliError ? error.exitCode : usage ? 2 : 1;
  },
);
