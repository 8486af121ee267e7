/** The terminal this CLI runs in: raw mode for a remote program, size changes reported. */
export interface LocalTerminal {
  /** Columns and rows, when stdout is a terminal. */
  readonly size: { cols: number; rows: number } | undefined;
  /** Restores the mode the terminal had; safe to call twice. */
  restore(): void;
}

/**
 * Puts stdin in raw mode (keys reach the remote program as typed: Ctrl-C is
 * a byte, not a signal here) and reports size changes. Does nothing for
 * what is not a terminal.
 */
export function rawTerminal(onResize: (size: { cols: number; rows: number }) => void): LocalTerminal {
  const stdinTty = process.stdin.isTTY === true;
  // A terminal without a size (script(1) without a window says 0x0) has no say in the PTY's size.
  const stdoutTty = process.stdout.isTTY === true && process.stdout.columns > 0 && process.stdout.rows > 0;
  if (stdinTty) process.stdin.setRawMode(true);
  const report = (): void => onResize({ cols: process.stdout.columns, rows: process.stdout.rows });
  if (stdoutTty) process.stdout.on("resize", report);
  let restored = false;
  return {
    size: stdoutTty ? { cols: process.stdout.columns, rows: process.stdout.rows } : undefined,
    restore: () => {
      if (restored) return;
      restored = true;
      if (stdoutTty) process.stdout.off("resize", report);
      if (stdinTty && process.stdin.isTTY === true) process.stdin.setRawMode(false);
    },
  };
}
