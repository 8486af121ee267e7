import type { Socket } from "node:net";
import { constants } from "node:os";
import { PassThrough, type Writable } from "node:stream";
import { OutputReader } from "./output-reader.js";
import type { StartedProcess } from "./process-identity.js";
import { NON_ENDING_SIGNALS } from "./signals.js";
import type { Spawned, Spawner } from "./spawner.js";

/** After the process exits, how long its pipes may stay open (held by a background grandchild) before we stop reading them. */
const PIPE_DRAIN_MS = 1_000;

export interface ProcessOptions {
  readonly argv: readonly string[];
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Give the process a stdin pipe (the session feeds it); otherwise stdin is closed. */
  readonly stdin: boolean;
  /** Called with each chunk in the order it was read; return a promise to hold the pipe until it settles (backpressure). */
  readonly onOutput: (fd: 1 | 2, chunk: Buffer) => Promise<unknown> | undefined;
  /** Called once output `fd` has ended (every chunk of it handed to onOutput and settled); a promise returned is settled before `ended`. */
  readonly onOutputEnd?: (fd: 1 | 2) => Promise<unknown> | undefined;
  /** Where the next byte handed to onOutput will lie in its journal, as far as known (see OutputReader); 0 when not given. */
  readonly outputOffset?: () => number;
  /** Who starts it (the daemon never forks itself: see Spawner). */
  readonly spawner: Spawner;
}

/** How a process ended: an exit code, a signal, or an error before it started (ENOENT ...). */
export type ProcessEnd =
  | { readonly t: "exited"; readonly code: number }
  | { readonly t: "signalled"; readonly signal: NodeJS.Signals }
  | { readonly t: "failed-to-start"; readonly message: string; readonly exitCode: 126 | 127 };

/**
 * A process in its own process group (a session run, an exec), so cancel,
 * timeout and stop reach every descendant; stdout and stderr piped
 * separately, stdin a pipe or closed. It is started by the Spawner, so its
 * pid comes a moment later (`started`); a signal sent before that is
 * delivered as soon as it runs, and stdin written before that waits.
 * `ended` resolves once the process has exited and every byte it wrote has
 * been handed to onOutput and settled: nothing is lost when it exits fast.
 */
export class GroupProcess {
  readonly ended: Promise<ProcessEnd>;
  /** Resolves once the process has exited (or could not start), before its output is read to the end. */
  readonly exited: Promise<void>;
  /** The pid and start time once the process runs; undefined when it could not start. */
  readonly started: Promise<StartedProcess | undefined>;
  /** The process's stdin, when it was given a pipe; write errors (EPIPE) are ignored. */
  readonly stdin: Writable | undefined;
  private readonly input: PassThrough | undefined;
  private pidNow: number | undefined;
  private gone = false;
  private signalOnStart: NodeJS.Signals | undefined;

  constructor(options: ProcessOptions) {
    this.input = options.stdin ? new PassThrough() : undefined;
    this.input?.on("error", () => {});
    this.stdin = this.input;
    let started!: (process: StartedProcess | undefined) => void;
    this.started = new Promise((resolve) => (started = resolve));
    let exited!: () => void;
    this.exited = new Promise((resolve) => (exited = resolve));
    this.ended = this.run(options, started, exited);
  }

  /** Sends a signal to the whole process group (once it runs); false when there is no live process. */
  signal(signal: NodeJS.Signals): boolean {
    if (this.gone) return false;
    if (this.pidNow === undefined) {
      this.signalOnStart = signal;
      return true;
    }
    return signalGroup(this.pidNow, signal);
  }

  private async run(options: ProcessOptions, started: (process: StartedProcess | undefined) => void, exited: () => void): Promise<ProcessEnd> {
    const [file, ...args] = options.argv;
    const notStarted = (error: unknown): ProcessEnd => {
      this.gone = true;
      exited();
      this.input?.destroy();
      started(undefined);
      // As a shell: 126 for a command found but not executable, 127 for one not found.
      return { t: "failed-to-start", message: (error as Error).message, exitCode: (error as NodeJS.ErrnoException).code === "EACCES" ? 126 : 127 };
    };
    let spawned: Spawned;
    try {
      spawned = await options.spawner.spawn({ file: file!, args, cwd: options.cwd, env: options.env, stdin: this.stdin !== undefined });
    } catch (error) {
      return notStarted(error);
    }
    const { stdout, stderr } = spawned;
    const offset = options.outputOffset ?? (() => 0);
    const readers = [new OutputReader(stdout, (chunk) => options.onOutput(1, chunk), offset), new OutputReader(stderr, (chunk) => options.onOutput(2, chunk), offset)];
    const drained = Promise.all(readers.map((reader, i) => reader.done.then(() => options.onOutputEnd?.(i === 0 ? 1 : 2))));
    let startedAs: StartedProcess;
    try {
      startedAs = await spawned.started;
    } catch (error) {
      spawned.stdin?.destroy();
      return notStarted(error);
    }
    this.pidNow = startedAs.pid;
    started(startedAs);
    if (this.input !== undefined && spawned.stdin !== undefined) feed(this.input, spawned.stdin);
    if (this.signalOnStart !== undefined) signalGroup(this.pidNow, this.signalOnStart);
    const exit = await spawned.exited;
    this.gone = true;
    exited();
    spawned.stdin?.destroy();
    const timer = setTimeout(() => {
      for (const reader of readers) reader.destroy();
    }, PIPE_DRAIN_MS);
    await drained;
    clearTimeout(timer);
    return exit.signal !== null ? { t: "signalled", signal: exit.signal } : { t: "exited", code: exit.code ?? 0 };
  }
}

/** Feeds what is written to `input` into the process's stdin socket, with backpressure; its end closes the process's stdin. */
function feed(input: PassThrough, socket: Socket): void {
  socket.on("error", () => {});
  socket.once("close", () => input.destroy());
  input.pipe(socket);
}

/**
 * Signals a process group, ignoring one that is already gone. A signal that
 * ends processes is followed by SIGCONT, as a shell's kill of a stopped job
 * is: a paused group (exec pause, tether pause) takes it now, not once
 * someone resumes it (SIGKILL needs none).
 */
export function signalGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
  } catch {
    return false;
  }
  if (signal !== "SIGKILL" && !NON_ENDING_SIGNALS.has(signal)) {
    try {
      process.kill(-pid, "SIGCONT");
    } catch {
      // Gone since: nothing to resume.
    }
  }
  return true;
}

/** The exit code a shell would report: 128+N for a signal, 126 or 127 for a command that could not start. */
export function exitCodeOf(end: ProcessEnd): number {
  switch (end.t) {
    case "exited":
      return end.code;
    case "signalled":
      return 128 + (constants.signals[end.signal] ?? 0);
    case "failed-to-start":
      return end.exitCode;
  }
}

/** How a run ended, in the words its state log uses. */
export function describeEnd(end: ProcessEnd): string {
  switch (end.t) {
    case "exited":
      return `exited with code ${end.code}`;
    case "signalled":
      return `killed by ${end.signal}`;
    case "failed-to-start":
      return `could not start: ${end.message}`;
  }
}
