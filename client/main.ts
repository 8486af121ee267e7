import { CliError, describeError } from "./cli-error.js";
import { ATTACH_USAGE, attachCommand } from "./commands/attach.js";
import { OUTPUT_USAGE, outputCommand } from "./commands/output.js";
import { READ_USAGE, readCommand } from "./commands/read.js";
import { SEND_USAGE, sendCommand } from "./commands/send.js";
import { WAIT_USAGE, waitCommand } from "./commands/wait.js";
import { DAEMON_USAGE, daemonCommand } from "./commands/daemon.js";
import { END_USAGE, endSessionCommand } from "./commands/end-session.js";
import { JOURNAL_USAGE, journalCommand } from "./commands/journal.js";
import { LOGS_USAGE, logsCommand } from "./commands/logs.js";
import { LS_USAGE, lsCommand } from "./commands/ls.js";
import { RUN_USAGE, runCommand } from "./commands/run.js";
import { SHOW_USAGE, showCommand } from "./commands/show.js";
import { TASKS_USAGE, tasksCommand } from "./commands/tasks.js";
import { XCOM_USAGE, xcomCommand } from "./commands/xcom.js";
import { EXEC_USAGE, execCommand } from "./commands/exec.js";
import { WS_USAGE, wsCommand } from "./commands/ws.js";
import { PTY_USAGE, ptyCommand } from "./commands/pty.js";
import { resolvePaths } from "./paths.js";
import { CLIENT_VERSION } from "./version.js";

const USAGE = `tether ${CLIENT_VERSION}: sessions and workspaces that outlive your terminal

sessions:
${RUN_USAGE}
${TASKS_USAGE}
${LS_USAGE}
${SHOW_USAGE}
${LOGS_USAGE}
${END_USAGE}

streams:
${ATTACH_USAGE}
${SEND_USAGE}
${READ_USAGE}

workspaces and execs:
${WS_USAGE}
${EXEC_USAGE}
${PTY_USAGE}

inside a task's run:
${OUTPUT_USAGE}
${WAIT_USAGE}
${XCOM_USAGE}

${DAEMON_USAGE}

${JOURNAL_USAGE}

  tether version     print this client's version

Any command but daemon starts the daemon when none answers. The daemon listens on $TETHER_SOCKET (default $XDG_RUNTIME_DIR/tether/tether.sock)
and keeps its state in $TETHER_HOME (default $XDG_STATE_HOME/tether).`;

/** argv -> command -> exit code. */
async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  const paths = resolvePaths();
  switch (command) {
    case "daemon":
      return daemonCommand(args, paths);
    case "run":
      return runCommand(args, paths);
    case "tasks":
      return tasksCommand(args, paths);
    case "ls":
      return lsCommand(args, paths);
    case "show":
      return showCommand(args, paths);
    case "logs":
      return logsCommand(args, paths);
    case "cancel":
    case "close":
      return endSessionCommand(command, args, paths);
    case "attach":
      return attachCommand(args, paths);
    case "send":
      return sendCommand(args, paths);
    case "read":
      return readCommand(args, paths);
    case "output":
      return outputCommand(args, paths);
    case "wait":
      return waitCommand(args, paths);
    case "xcom":
      return xcomCommand(args, paths);
    case "ws":
      return wsCommand(args, paths);
    case "exec":
      return execCommand(args, paths);
    case "pty":
      return ptyCommand(args, paths);
    case "journal":
      return journalCommand(args, paths);
    case "version":
    case "--version":
      process.stdout.write(`${CLIENT_VERSION}\n`);
      return 0;
    case undefined:
    case "help":
    case "--help":
    case "-h":
      process.stdout.write(`${USAGE}\n`);
      return 0;
    default:
      throw new CliError(`unknown command ${JSON.stringify(command)}: run tether --help to see the commands`, 2);
  }
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
