import { closeSync, constants, fstatSync, openSync } from "node:fs";
import { constants as osConstants } from "node:os";
import type { Socket } from "node:net";
import * as pty from "node-pty";
import { Code } from "@connectrpc/connect";
import { TetherError, isOutOfDescriptors, outOfDescriptors } from "../errors.js";
import { signalGroup, type ProcessEnd } from "./child-process.js";
import { typeEndOfInput } from "./end-of-input.js";
import { closeOnExec, duplicate } from "./native-descriptors.js";
import { terminalForegroundGroup } from "./process-identity.js";
import { noProcessLeft } from "./process-limit.js";
import { ThreadReader, type OnChunk } from "./thread-reader.js";
import { TerminalInput } from "./terminal-input.js";

/**
 * Where node-pty reads (no addons), output quiet this long after the
 * program's exit ends the reading: nothing there says the terminal is read
 * dry, and node-pty's own wait was 200 ms ...
 */
const NODE_PTY_TAIL_QUIET_MS = 230;
/** ... but a background process that keeps writing gets at most this long. */
const TAIL_MAX_MS = 2_000;

export interface TtyOptions {
  readonly argv: readonly string[];
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cols: number;
  readonly rows: number;
  /** Called with each chunk in order; return a promise to pause the terminal until it settles (backpressure). */
  readonly onOutput: (chunk: Buffer) => Promise<unknown> | undefined;
}

/**
 * A process under a pseudo-terminal (node-pty): a session leader, so its
 * pid is its process group; output arrives as raw bytes; `ended` resolves
 * after the exit once every byte the program wrote has been handed to
 * onOutput and settled.
 *
 * No lost tail. node-pty drops the last bytes of a program that writes and
 * exits at once in some runs (measured here: ~5 KB of 100 KB in up to half
 * of them), though the kernel gives a reader of the master every byte
 * before its hang-up (a plain reader lost none in 600 runs). The daemon
 * holds the terminal's slave side open for the program's whole life, so the
 * master never hangs up and every byte stays readable, and node-pty's
 * reading socket is closed (node-pty's exit comes after that close) only
 * once the terminal is read dry: when the program exits, reading goes on
 * (resumed if held for backpressure) to the terminal's first empty read
 * (ThreadReader's finish: after the exit, every byte the program wrote).
 * A background process still writing after the program's exit is not
 * waited for: closing the terminal hangs it up, as closing a terminal
 * window does. (Until 2026-12-04 the reading first waited for 30 ms
 * without output, from before finish() existed: every `exec -t` and PTY
 * exit 30 ms later, for a background writer that wrote without a pause.)
 *
 * The exit is taken from node-pty as soon as it learns it (onProgramExit):
 * node-pty itself reports it only once its socket has closed, which it
 * forces 200 ms later when the master never hangs up, and every PTY's exit
 * reached its clients that much after its last output.
 */
export class TtyProcess {
  readonly ended: Promise<ProcessEnd>;
  /** Resolves once the program has exited, before its output is read to the end. */
  readonly exited: Promise<void>;
  readonly pid: number;
  private readonly term: pty.IPty;
  /** Input goes to the master on the daemon's thread (terminal-input.ts), not through node-pty's thread-pool writes. */
  private readonly input: TerminalInput;
  private gone = false;
  /** The terminal's device number (its slave's st_rdev): which processes read it (end-of-input.ts). */
  private readonly device: number | undefined;

  constructor(options: TtyOptions) {
    const [file, ...args] = options.argv;
    const env = Object.fromEntries(Object.entries(options.env).filter((e): e is [string, string] => e[1] !== undefined));
    try {
      // node-pty sets TERM to `name`: the one the env gives (the client's, --env TERM=...), not always its default.
      this.term = pty.spawn(file!, args, { name: env["TERM"] ?? "xterm-256color", cols: options.cols, rows: options.rows, cwd: options.cwd, env, encoding: null });
    } catch (error) {
      if (!(error instanceof Error && error.message.startsWith("forkpty"))) throw error;
      throw terminalFailure(`could not open a terminal (${error.message})`);
    }
    this.pid = this.term.pid;
    // node-pty's master descriptor (UnixTerminal's `fd`, pinned 1.1.x; the PTY tests type through it). forkpty
    // opens it without close-on-exec, and node-pty's child closes nothing: every terminal's program started after
    // this one would hold it, and could read and type into this terminal (from another workspace, or a sandbox).
    const master = (this.term as unknown as { fd: number }).fd;
    closeOnExec(master);
    this.input = new TerminalInput(master);
    const slave = holdSlave(this.term);
    this.device = slave === undefined ? undefined : fstatSync(slave).rdev;
    let pending: Promise<unknown> = Promise.resolve();
    let draining = false;
    let lastData = Date.now();
    const reading = readTerminal(this.term, (chunk) => {
      lastData = Date.now();
      const settled = options.onOutput(chunk);
      if (settled === undefined || draining) return undefined;
      pending = settled;
      return settled;
    });
    // node-pty's own close, 200 ms after the exit, finds the drain begun (or, should node-pty's exit hook change, begins it).
    const closeSocket = takeSocketClose(this.term, () => drain());
    const drain = (): void => {
      if (draining) return;
      draining = true;
      reading.resume();
      const started = Date.now();
      const check = (): void => {
        if (Date.now() - lastData < reading.quietMs && Date.now() - started < TAIL_MAX_MS) {
          setTimeout(check, reading.quietMs);
          return;
        }
        // Before the descriptor closes: node-pty reports the exit only after, and a write meanwhile could reach whatever file reused the number.
        this.input.close();
        void reading.finish().then(closeSocket);
      };
      setTimeout(check, reading.quietMs);
    };
    let exited!: () => void;
    this.exited = new Promise((resolve) => (exited = resolve));
    onProgramExit(this.term, () => {
      this.gone = true;
      exited();
      drain();
    });
    this.ended = new Promise<ProcessEnd>((resolve) => {
      this.term.onExit(({ exitCode, signal }) => {
        this.gone = true;
        exited();
        this.input.close();
        if (slave !== undefined) closeSync(slave);
        void pending.then(() => resolve(signal !== undefined && signal > 0 ? { t: "signalled", signal: signalName(signal) } : { t: "exited", code: exitCode }));
      });
    });
  }

  /** Undefined, or a promise to await before the next write when too much input waits for the terminal (see TerminalInput). */
  write(data: Uint8Array): Promise<void> | undefined {
    return this.gone ? undefined : this.input.write(data);
  }

  /** Typed input has ended: the end-of-file key follows once the program has taken it and waits for more (see typeEndOfInput). */
  endInput(): void {
    if (this.gone) return;
    typeEndOfInput({ pid: this.pid, device: this.device, gone: () => this.gone, inputWaiting: () => this.input.waitingInput, type: (key) => void this.input.write(key) });
  }

  /** Undefined, or a promise to await before writing: too much input waits for the terminal (see TerminalInput.whenRoom). */
  whenRoom(): Promise<void> | undefined {
    return this.gone ? undefined : this.input.whenRoom();
  }

  resize(cols: number, rows: number): void {
    if (!this.gone) this.term.resize(cols, rows);
  }

  /**
   * Signals the program's process group and, when it is another, the
   * terminal's foreground group (as a hangup reaches it): a shell with job
   * control that does not lead the terminal's session (bash in a bwrap
   * sandbox, whose bwrap leads it and ignores the signal) moves itself and
   * its jobs into groups of their own, which a signal to the first group
   * alone never reached: closing such a PTY took the SIGKILL 5 s later.
   */
  signal(signal: NodeJS.Signals): boolean {
    if (this.gone) return false;
    const sent = signalGroup(this.pid, signal);
    const foreground = terminalForegroundGroup(this.pid);
    if (foreground !== undefined && foreground !== this.pid) signalGroup(foreground, signal);
    return sent;
  }

  /**
   * Asks the program in the terminal's foreground (a shell's running job,
   * or the shell) to redraw its screen: SIGWINCH to the foreground process
   * group, the signal a size change sends, without one (dtach's "winch"
   * redraw on attach). False when there is no such group.
   */
  redraw(): boolean {
    if (this.gone) return false;
    const group = terminalForegroundGroup(this.pid);
    return group !== undefined && signalGroup(group, "SIGWINCH");
  }
}

/** How a terminal's output is read: resumed when its program has exited, then finished (read dry: see ThreadReader.finish). */
interface TerminalReading {
  resume(): void;
  finish(): Promise<void>;
  /** How long output must be quiet after the exit before finish(): 0 where finish() reads the terminal dry. */
  readonly quietMs: number;
}

/**
 * Reads the terminal's output, handing each chunk to `onChunk` and pausing
 * while the promise it returns settles. A terminal yields at most 4 KiB per
 * read, and node-pty's socket allocates a buffer for each, pushes it through
 * a Readable and two event emitters, and the writer copies it into its
 * record: node-pty's socket is kept (its descriptor serves resizes, and its
 * close reports the exit) but never reads, and a duplicate of the master is
 * read on a thread of its own into regions of the daemon's memory
 * (thread-reader.ts), whose chunks the writer joins without a copy. Without
 * the native addons (or a descriptor to spare), node-pty reads.
 */
function readTerminal(term: pty.IPty, onChunk: OnChunk): TerminalReading {
  const socket = (term as unknown as { _socket?: Socket })._socket;
  const copy = socket === undefined ? undefined : duplicate((term as unknown as { fd: number }).fd);
  // A terminal's journal is its own, from its first byte.
  const reader = copy === undefined ? undefined : ThreadReader.open(copy, 0, onChunk);
  if (socket === undefined || reader === undefined) {
    if (copy !== undefined) closeSync(copy);
    term.onData((data) => {
      // With encoding null node-pty hands over each read as a Buffer of its own.
      const settled = onChunk(data as unknown as Buffer);
      if (settled === undefined) return;
      term.pause();
      void settled.then(
        () => term.resume(),
        () => term.resume(),
      );
    });
    // node-pty reads on until its socket closes: quiet is all there is to go by.
    return { resume: () => term.resume(), finish: () => Promise.resolve(), quietMs: NODE_PTY_TAIL_QUIET_MS };
  }
  // Synchronously after the spawn, before the socket's first read (which Node starts on the next tick).
  socket._read = () => undefined;
  return { resume: () => reader.resume(), finish: () => reader.finish(), quietMs: 0 };
}

/**
 * Takes over node-pty's close of its reading socket: its own calls (200 ms
 * after the exit, see TtyProcess) call `onRequest` instead; returns the real
 * close. Reaches into node-pty's private `_socket` (pinned 1.1.x); the PTY
 * tail test fails if that changes.
 */
function takeSocketClose(term: pty.IPty, onRequest: () => void): () => void {
  const socket = (term as unknown as { _socket?: { destroy(): void } })._socket;
  if (socket === undefined) return () => undefined;
  const destroy = socket.destroy.bind(socket);
  socket.destroy = onRequest;
  return destroy;
}

/**
 * Calls `onExit` as soon as node-pty learns that the program exited (its
 * exit handler sets its private `_boundClose` first, then waits for its
 * socket to close before it reports the exit). Pinned 1.1.x like the other
 * reaches into node-pty; should it change, the exit comes 200 ms later, as
 * node-pty's own, and the PTY exit test fails.
 */
function onProgramExit(term: pty.IPty, onExit: () => void): void {
  let bound = false;
  Object.defineProperty(term, "_boundClose", {
    configurable: true,
    get: () => bound,
    set: (value: boolean) => {
      bound = value;
      if (value) onExit();
    },
  });
}

/** Opens the terminal's slave side so it stays open while the program runs (see TtyProcess). */
function holdSlave(term: pty.IPty): number | undefined {
  const name = (term as unknown as { ptsName?: string }).ptsName;
  if (name === undefined) return undefined;
  try {
    return openSync(name, constants.O_RDWR | constants.O_NOCTTY);
  } catch {
    return undefined;
  }
}

function signalName(signal: number): NodeJS.Signals {
  const entry = Object.entries(osConstants.signals).find(([, n]) => n === signal);
  return (entry?.[0] ?? "SIGKILL") as NodeJS.Signals;
}

/**
 * What node-pty's "forkpty(3) failed." lacked, told apart by opening here
 * what forkpty opens first, two descriptors, one of them a pseudo-terminal:
 * descriptors, or a terminal of the system's; when both open, the fork
 * after them failed (EAGAIN: the process limit).
 */
function terminalFailure(failed: string): TetherError {
  const opened: number[] = [];
  try {
    opened.push(openSync("/dev/ptmx", constants.O_RDWR | constants.O_NOCTTY));
    opened.push(openSync("/dev/null", constants.O_RDONLY));
  } catch (error) {
    return isOutOfDescriptors(error) ? outOfDescriptors(failed) : outOfDescriptors(failed, "the system has no pseudo-terminal left (/proc/sys/kernel/pty/nr against pty/max)");
  } finally {
    for (const fd of opened) closeSync(fd);
  }
  return new TetherError(Code.ResourceExhausted, "OUT_OF_PROCESSES", `${failed}: ${noProcessLeft()}`);
}
