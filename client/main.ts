import { CliError, describeError } from "./cli-error.js";
import { resolvePaths } from "./paths.js";
import { CLIENT_VERSION } from "./version.js";

/**
 * The whole usage text. Commands are imported when they run (esbuild then
 * initializes a command's modules, and the protobuf descriptors they embed,
 * only on first use), so only help loads them all.
 */
async function usage(): Promise<string> {
  const [attach, output, read, send, wait, daemon, endSession, journal, logs, ls, run, show, tasks, xcom, exec, ws, pty] = await Promise.all([
    import("./commands/attach.js"),
    import("./commands/output.js"),
    import("./commands/read.js"),
    import("./commands/send.js"),
    import("./commands/wait.js"),
    import("./commands/daemon.js"),
    import("./commands/end-session.js"),
    import("./commands/journal.js"),
    import("./commands/logs.js"),
    import("./commands/ls.js"),
    import("./commands/run.js"),
    import("./commands/show.js"),
    import("./commands/tasks.js"),
    import("./commands/xcom.js"),
    import("./commands/exec.js"),
    import("./commands/ws.js"),
    import("./commands/pty.js"),
  ]);
  return `tether ${CLIENT_VERSION}: sessions and workspaces that outlive your terminal

sessions:
${run.RUN_USAGE}
${tasks.TASKS_USAGE}
${ls.LS_USAGE}
${show.SHOW_USAGE}
${logs.LOGS_USAGE}
${endSession.END_USAGE}

streams:
${attach.ATTACH_USAGE}
${send.SEND_USAGE}
${read.READ_USAGE}

workspaces and execs:
${ws.WS_USAGE}
${exec.EXEC_USAGE}
${pty.PTY_USAGE}

inside a task's run:
${output.OUTPUT_USAGE}
${wait.WAIT_USAGE}
${xcom.XCOM_USAGE}

${daemon.DAEMON_USAGE}

${journal.JOURNAL_USAGE}

  tether version     print this client's version

Any command but daemon starts the daemon when none answers. The daemon listens on $TETHER_SOCKET (default $XDG_RUNTIME_DIR/tether/tether.sock)
and keeps its state in $TETHER_HOME (default $XDG_STATE_HOME/tether).`;
}

/** argv -> command -> exit code. */
async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  const paths = resolvePaths();
  switch (command) {
    case "daemon":
      return (await import("./commands/daemon.js")).daemonCommand(args, paths);
    case "run":
      return (await import("./commands/run.js")).runCommand(args, paths);
    case "tasks":
      return (await import("./commands/tasks.js")).tasksCommand(args, paths);
    case "ls":
      return (await import("./commands/ls.js")).lsCommand(args, paths);
    case "show":
      return (await import("./commands/show.js")).showCommand(args, paths);
    case "logs":
      return (await import("./commands/logs.js")).logsCommand(args, paths);
    case "cancel":
    case "close":
      return (await import("./commands/end-session.js")).endSessionCommand(command, args, paths);
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
      throw new CliError(`unknown command ${JSON.stringify(command)}: run tether --help to see the commands`, 2);
  }
}

// Its reader went away (`tether logs S | head`): end at once and quietly, with the status of a
// command killed by SIGPIPE (128+13), as Unix tools do. An exec or a session goes on: the client detached.
for (const out of [process.stdout, process.stderr]) {
  out.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") throw error;
    process.exit(141);
  });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`tether: ${describeError(error)}\n`);
    process.exitCode = error instanceof CliError ? error.exitCode : 1;
  },
);
