import { constants } from "node:os";
import * as pty from "node-pty";
import { signalGroup, type ProcessEnd } from "./child-process.js";

export interface TtyOptions {
  readonly argv: readonly string[];
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cols: number;
  readonly rows: number;
  /** Called with each chunk in order; return a promise to pause the terminal until it settles (backpressure). */
  readonly onOutput: (chunk: Buffer) => Promise<unknown> | undefined;
}

/** After the program exits, how long output still arriving from the terminal is waited for. */
const TAIL_QUIET_MS = 50;

/**
 * A process under a pseudo-terminal (node-pty): a session leader, so its
 * pid is its process group; output arrives as raw bytes; `ended` resolves
 * after the exit and after the output has gone quiet and settled.
 */
export class TtyProcess {
  readonly ended: Promise<ProcessEnd>;
  readonly pid: number;
  private readonly term: pty.IPty;
  private exited = false;

  constructor(options: TtyOptions) {
    const [file, ...args] = options.argv;
    const env = Object.fromEntries(Object.entries(options.env).filter((e): e is [string, string] => e[1] !== undefined));
    this.term = pty.spawn(file!, args, { name: "xterm-256color", cols: options.cols, rows: options.rows, cwd: options.cwd, env, encoding: null });
    this.pid = this.term.pid;
    let pending: Promise<unknown> = Promise.resolve();
    let lastData = Date.now();
    this.term.onData((data) => {
      lastData = Date.now();
      const settled = options.onOutput(Buffer.from(data as unknown as Uint8Array));
      if (settled !== undefined) {
        this.term.pause();
        pending = settled.finally(() => this.term.resume());
      }
    });
    this.ended = new Promise<ProcessEnd>((resolve) => {
      this.term.onExit(({ exitCode, signal }) => {
        this.exited = true;
        const finish = (): void => {
          if (Date.now() - lastData < TAIL_QUIET_MS) {
            setTimeout(finish, TAIL_QUIET_MS);
            return;
          }
          void pending.then(() => resolve(signal !== undefined && signal > 0 ? { t: "signalled", signal: signalName(signal) } : { t: "exited", code: exitCode }));
        };
        setTimeout(finish, TAIL_QUIET_MS);
      });
    });
  }

  write(data: Uint8Array): void {
    if (!this.exited) this.term.write(Buffer.from(data) as unknown as string);
  }

  resize(cols: number, rows: number): void {
    if (!this.exited) this.term.resize(cols, rows);
  }

  signal(signal: NodeJS.Signals): boolean {
    if (this.exited) return false;
    return signalGroup(this.pid, signal);
  }
}

function signalName(signal: number): NodeJS.Signals {
  const entry = Object.entries(constants.signals).find(([, n]) => n === signal);
  return (entry?.[0] ?? "SIGKILL") as NodeJS.Signals;
}
