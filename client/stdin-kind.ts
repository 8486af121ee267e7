import { fstatSync, statSync, type Stats } from "node:fs";

/*
 * What this process's stdin is, asked of the descriptor: Node's
 * process.stdin costs a command ~3.5 ms to set up on first use (its stream
 * and the modules behind it), which a command that will not read it need
 * not pay.
 */

/** Whether stdin is /dev/null, or closed: nothing to read. */
export function stdinIsNull(): boolean {
  const stdin = stdinStats();
  return stdin === undefined || isDevNull(stdin);
}

/** Whether stdin is a terminal (checked through process.stdin only when it is a character device other than /dev/null). */
export function stdinIsTerminal(): boolean {
  const stdin = stdinStats();
  return stdin !== undefined && stdin.isCharacterDevice() && !isDevNull(stdin) && process.stdin.isTTY === true;
}

function stdinStats(): Stats | undefined {
  try {
    return fstatSync(0);
  } catch {
    return undefined;
  }
}

function isDevNull(stats: Stats): boolean {
  return stats.isCharacterDevice() && stats.rdev === statSync("/dev/null").rdev;
}
