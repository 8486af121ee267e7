import { accessSync, closeSync, constants as fsConstants, openSync, readSync, statSync } from "node:fs";
import { delimiter, isAbsolute, join, resolve } from "node:path";

/** Why a command cannot be run, and the exit code a shell reports for it: 126 found but not executable, 127 not found. */
export interface CommandProblem {
  readonly message: string;
  readonly exitCode: 126 | 127;
}

/** Bytes of a script read for its `#!` line: Linux reads at most 256 (BINPRM_BUF_SIZE). */
const SHEBANG_BYTES = 256;

/**
 * Why argv[0] cannot be run, looked up as execvp would (each PATH entry in
 * turn, or the path itself when it has a slash); undefined when it can.
 * Checked before the start so a missing command is the same clear error in
 * every sandbox and under a terminal, not a sandbox's or terminal's exit
 * status. A directory and a script whose `#!` interpreter is missing are
 * named as such, where the kernel says only EACCES or ENOENT.
 */
export function commandProblem(command: string, cwd: string, path: string): CommandProblem | undefined {
  const candidates = command.includes("/") ? [isAbsolute(command) ? command : join(cwd, command)] : path.split(delimiter).filter((d) => d !== "").map((d) => join(d, command));
  let found: CommandProblem | undefined;
  for (const candidate of candidates) {
    const problem = candidateProblem(candidate, cwd);
    if (problem === undefined) return undefined;
    // As execvp: a file that cannot run does not end the search, and what it says is reported when nothing later runs.
    if (problem !== "absent") found ??= problem;
  }
  if (found !== undefined) return { message: `spawn ${command} ${found.exitCode === 126 ? "EACCES" : "ENOENT"}: ${found.message}`, exitCode: found.exitCode };
  return { message: command.includes("/") ? `spawn ${command} ENOENT: no such file` : `spawn ${command} ENOENT: command not found in PATH`, exitCode: 127 };
}

/**
 * Why `file` cannot run, "absent" when it is not there; undefined when it
 * can. A stat first, which says "absent" without an exception: most of a
 * PATH's entries do not hold the command, and an exception for each cost
 * ~10 µs a start.
 */
function candidateProblem(file: string, cwd: string): CommandProblem | "absent" | undefined {
  let stat;
  try {
    stat = statSync(file, { throwIfNoEntry: false });
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EACCES" ? DENIED : "absent";
  }
  if (stat === undefined) return "absent";
  if (stat.isDirectory()) return { message: "is a directory", exitCode: 126 };
  try {
    accessSync(file, fsConstants.X_OK);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EACCES" ? DENIED : "absent";
  }
  return scriptProblem(file, cwd);
}

const DENIED: CommandProblem = { message: "permission denied", exitCode: 126 };

/** Why an executable file cannot run after all: a script whose `#!` interpreter is missing. */
function scriptProblem(file: string, cwd: string): CommandProblem | undefined {
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch {
    // Executable but not readable (mode 0111): a binary the kernel may still run.
    return undefined;
  }
  try {
    const head = Buffer.alloc(SHEBANG_BYTES);
    const length = readSync(fd, head, 0, SHEBANG_BYTES, 0);
    if (length < 2 || head[0] !== 0x23 || head[1] !== 0x21) return undefined;
    // The kernel splits the line at spaces and tabs only: a carriage return (Windows line endings) is part of the name.
    const interpreter = head.subarray(2, length).toString("latin1").split("\n")[0]!.replace(/^[ \t]+/, "").split(/[ \t]/)[0]!;
    if (interpreter === "") return undefined;
    try {
      accessSync(resolve(cwd, interpreter), fsConstants.X_OK);
      return undefined;
    } catch (error) {
      if (interpreter.endsWith("\r")) {
        return { message: `its #! line ends in a carriage return (Windows line endings), so its interpreter is ${JSON.stringify(interpreter)}, which does not exist: convert the file with sed -i 's/\\r$//' ${file}`, exitCode: 127 };
      }
      const missing = (error as NodeJS.ErrnoException).code !== "EACCES";
      return { message: `its interpreter ${interpreter} (on its #! line) ${missing ? "does not exist" : "is not executable"}`, exitCode: missing ? 127 : 126 };
    }
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}
