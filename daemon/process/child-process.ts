import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { constants } from "node:os";
import type { Readable, Writable } from "node:stream";

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
}

/** How a process ended: an exit code, a signal, or an error before it started (ENOENT ...). */
export type ProcessEnd =
  | { readonly t: "exited"; readonly code: number }
  | { readonly t: "signalled"; readonly signal: NodeJS.Signals }
  | { readonly t: "failed-to-start"; readonly message: string };

/**
 * A process in its own process group (a session run, an exec), so cancel,
 * timeout and stop reach every descendant; stdout and stderr piped
 * separately, stdin a pipe or closed.
 * `ended` resolves once the process has exited and every byte it wrote has
 * been handed to onOutput and settled: nothing is lost when it exits fast.
 */
export class GroupProcess {
  readonly ended: Promise<ProcessEnd>;
  readonly pid: number | undefined;
  /** The process's stdin, when it was given a pipe; write errors (EPIPE) are ignored. */
  readonly stdin: Writable | undefined;
  private readonly child: ChildProcess;
  private exited = false;

  constructor(options: ProcessOptions) {
    const [file, ...args] = options.argv;
    this.child = spawn(file!, args, { cwd: options.cwd, env: options.env, stdio: [options.stdin ? "pipe" : "ignore", "pipe", "pipe"], detached: true });
    this.pid = this.child.pid;
    this.stdin = this.child.stdin ?? undefined;
    this.stdin?.on("error", () => {});
    const drained = [pump(this.child.stdout!, 1, options.onOutput), pump(this.child.stderr!, 2, options.onOutput)];
    this.ended = new Promise<ProcessEnd>((resolve) => {
      this.child.once("error", (error) => {
        if (this.pid === undefined) {
          this.exited = true;
          resolve({ t: "failed-to-start", message: error.message });
        }
      });
      this.child.once("exit", (code, signal) => {
        this.exited = true;
        const timer = setTimeout(() => {
          this.child.stdout?.destroy();
          this.child.stderr?.destroy();
        }, PIPE_DRAIN_MS);
        void Promise.all(drained).then(() => {
          clearTimeout(timer);
          resolve(signal !== null ? { t: "signalled", signal } : { t: "exited", code: code ?? 0 });
        });
      });
    });
  }

  /** Sends a signal to the whole process group; false when there is no live process. */
  signal(signal: NodeJS.Signals): boolean {
    if (this.pid === undefined || this.exited) return false;
    return signalGroup(this.pid, signal);
  }
}

/** Signals a process group, ignoring one that is already gone. */
export function signalGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** The start time (clock ticks since boot) of a live process, from /proc: with the pid it names the process uniquely. */
export function processStartTicks(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(fields[19]);
  } catch {
    return undefined;
  }
}

/** The exit code a shell would report: 128+N for a signal, 127 for a command that could not start. */
export function exitCodeOf(end: ProcessEnd): number {
  switch (end.t) {
    case "exited":
      return end.code;
    case "signalled":
      return 128 + (constants.signals[end.signal] ?? 0);
    case "failed-to-start":
      return 127;
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

async function pump(stream: Readable, fd: 1 | 2, onOutput: ProcessOptions["onOutput"]): Promise<void> {
  try {
    for await (const chunk of stream) {
      const pending = onOutput(fd, chunk as Buffer);
      if (pending !== undefined) await pending;
    }
  } catch {
    // The pipe was destroyed after the drain timeout: what was read is kept.
  }
}
