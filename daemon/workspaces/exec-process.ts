import { GroupProcess, type ProcessEnd } from "../process/child-process.js";
import { processStartTicks, type StartedProcess } from "../process/process-identity.js";
import type { CommandProblem } from "../process/command-problem.js";
import type { Spawner } from "../process/spawner.js";
import { TtyProcess } from "../process/tty-process.js";

/** What an exec needs of its process, piped or under a terminal. */
export interface ExecProcess {
  readonly ended: Promise<ProcessEnd>;
  /** Resolves once the process has exited (or could not start), before its output is read to the end. */
  readonly exited: Promise<void>;
  /** The pid and start time once the process runs; undefined when it could not start. */
  readonly started: Promise<StartedProcess | undefined>;
  /** Writes stdin bytes; resolves once the process has taken them (the pipe drained), so a fast producer waits. */
  write(data: Uint8Array): Promise<void>;
  closeStdin(): void;
  signal(signal: NodeJS.Signals): boolean;
  resize(cols: number, rows: number): void;
  /** Types a terminal's answer into its terminal: undefined while there is room, a promise while input waits, undefined without a terminal. */
  answer(bytes: Uint8Array): Promise<void> | undefined;
}

export interface ExecProcessOptions {
  readonly argv: readonly string[];
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdin: boolean;
  readonly tty: { readonly cols: number; readonly rows: number } | undefined;
  readonly onOutput: (fd: 1 | 2, chunk: Buffer) => Promise<unknown> | undefined;
  readonly outputOffset?: () => number;
  readonly spawner: Spawner;
}

/** Starts an exec's process: stdout and stderr piped apart, or everything through one terminal. */
export function startExecProcess(options: ExecProcessOptions): ExecProcess {
  if (options.tty !== undefined) {
    const term = new TtyProcess({ ...options, ...options.tty, onOutput: (chunk) => options.onOutput(1, chunk) });
    return {
      ended: term.ended,
      exited: term.exited,
      started: Promise.resolve({ pid: term.pid, startTicks: processStartTicks(term.pid) }),
      write: async (data) => term.write(data),
      // A terminal has no end of input of its own: its end-of-file key (Ctrl-D) is what a program on a tty reads as one.
      closeStdin: () => term.endInput(),
      signal: (signal) => term.signal(signal),
      resize: (cols, rows) => term.resize(cols, rows),
      answer: (bytes) => term.write(bytes),
    };
  }
  const child = new GroupProcess(options);
  return {
    ended: child.ended,
    exited: child.exited,
    started: child.started,
    write: (data) =>
      new Promise<void>((resolve) => {
        const stdin = child.stdin;
        if (stdin === undefined || stdin.destroyed || stdin.writableEnded) return resolve();
        if (stdin.write(data)) return resolve();
        const done = (): void => {
          stdin.off("drain", done);
          stdin.off("close", done);
          resolve();
        };
        stdin.on("drain", done);
        stdin.on("close", done);
      }),
    closeStdin: () => child.stdin?.end(),
    signal: (signal) => child.signal(signal),
    resize: () => undefined,
    answer: () => undefined,
  };
}

/** A process that never started: it ends at once with the reason. */
export function notStarted(problem: CommandProblem): ExecProcess {
  return {
    ended: Promise.resolve({ t: "failed-to-start", ...problem }),
    exited: Promise.resolve(),
    started: Promise.resolve(undefined),
    write: async () => undefined,
    closeStdin: () => undefined,
    signal: () => false,
    resize: () => undefined,
    answer: () => undefined,
  };
}
