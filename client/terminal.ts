import { spawnSync } from "node:child_process";
import { TERMINAL_MAX_CELLS } from "../common/terminal-limits.js";
import { TerminalModes } from "../common/terminal-modes.js";

/** The terminal this CLI runs in: raw mode for a remote program, size changes reported. */
export interface LocalTerminal {
  /** Columns and rows, when stdout is a terminal. */
  readonly size: { cols: number; rows: number } | undefined;
  /** Follows the remote program's output as it is written to stdout: the terminal modes it sets there. */
  seen(bytes: Buffer): void;
  /** Restores the mode the terminal had, and takes it out of the modes the program's output set; safe to call twice. */
  restore(): void;
}

/**
 * This terminal's size for a remote one: undefined when stdout is no
 * terminal, or one without a size (script(1) without a window says 0x0,
 * a window shrunk to nothing): it has no say in the remote's size. Past
 * TERMINAL_MAX_CELLS a side is given as that much, as tmux caps a window:
 * a wider window than the daemon takes cut its client off on the resize.
 */
export function terminalSize(): { cols: number; rows: number } | undefined {
  const { columns, rows } = process.stdout;
  if (process.stdout.isTTY !== true || !(columns > 0) || !(rows > 0)) return undefined;
  return { cols: Math.min(columns, TERMINAL_MAX_CELLS), rows: Math.min(rows, TERMINAL_MAX_CELLS) };
}

/**
 * Puts stdin in raw mode (keys reach the remote program as typed: Ctrl-C is
 * a byte, not a signal here; the program's output reaches the screen as it
 * wrote it) and reports size changes. Does nothing for what is not a
 * terminal. When the CLI leaves the program (a detach, its end, an error),
 * the terminal is taken out of the modes the program set on it (the
 * alternate screen, mouse reporting, application keys: terminal-modes.ts),
 * as tmux restores the terminal it leaves; a program that ended cleanly has
 * left them itself, and nothing is written.
 */
export function rawTerminal(onResize: (size: { cols: number; rows: number }) => void): LocalTerminal {
  const stdinTty = process.stdin.isTTY === true;
  const stdoutTty = terminalSize() !== undefined;
  if (stdinTty) {
    process.stdin.setRawMode(true);
    rawOutput();
  }
  const modes = programModes();
  const report = (): void => {
    modes.resized();
    const size = terminalSize();
    if (size !== undefined) onResize(size);
  };
  if (stdoutTty) process.stdout.on("resize", report);
  let restored = false;
  return {
    size: terminalSize(),
    seen: modes.seen,
    restore: () => {
      if (restored) return;
      restored = true;
      modes.leave();
      if (stdoutTty) process.stdout.off("resize", report);
      if (stdinTty && process.stdin.isTTY === true) process.stdin.setRawMode(false);
    },
  };
}

/** The terminal modes a remote program's output sets on this terminal (stdout), followed; see rawTerminal. */
export interface ProgramModes {
  /** Follows the program's output as it is written to stdout. */
  seen(bytes: Buffer): void;
  /** This terminal changed size (its scroll region is the whole screen again). */
  resized(): void;
  /** Takes this terminal out of the modes the output set: when the CLI leaves the program. */
  leave(): void;
}

/** Follows the modes a program's output sets on stdout, when stdout is a terminal (otherwise does nothing). */
export function programModes(): ProgramModes {
  if (process.stdout.isTTY !== true) return { seen: () => undefined, resized: () => undefined, leave: () => undefined };
  const modes = new TerminalModes();
  return {
    seen: (bytes) => modes.scan(bytes),
    resized: () => modes.resized(),
    leave: () => {
      const leave = modes.leave();
      if (leave !== "") process.stdout.write(leave);
    },
  };
}

/**
 * Turns the terminal's output processing off, as cfmakeraw (tmux, ssh,
 * docker) does: libuv's raw mode leaves it on, so a program's bare "\n" (a
 * cursor down, in its own raw mode) reached the screen as "\r\n", the cursor
 * at the left edge. Node has no call for it; stty is POSIX. setRawMode(false)
 * restores it with the rest of the mode, and Node restores the terminal at
 * exit. Without stty the output stays processed, as before.
 */
function rawOutput(): void {
  spawnSync("stty", ["-opost"], { stdio: ["inherit", "ignore", "ignore"] });
}
