import { closeSync, readdirSync, readFileSync } from "node:fs";

/** O_CLOEXEC as /proc/PID/fdinfo's octal flags show it. */
const CLOSE_ON_EXEC = 0o2000000;

/**
 * Closes the descriptors the daemon inherited past stdio, as daemon(7)
 * says a daemon does first: whatever the shell, the IDE's terminal or the
 * CI runner that ran the command which started it left open (a pipe a CI
 * step waits on for its end would wait for the daemon's), which the daemon
 * would hold for its whole life, and which node-pty, closing none, would
 * pass to every terminal's program. Told apart by close-on-exec: Node opens
 * each of its own with it, and an inherited one never has it. Run first,
 * before anything else opens one. Returns how many it closed.
 */
export function closeInheritedDescriptors(): number {
  let closed = 0;
  for (const name of readdirSync("/proc/self/fd")) {
    const fd = Number(name);
    if (fd <= 2) continue;
    let flags: number;
    try {
      flags = parseInt(/^flags:\s+([0-7]+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, "utf8"))?.[1] ?? "", 8);
    } catch {
      // Gone since the listing: the listing's own directory.
      continue;
    }
    if (Number.isNaN(flags) || (flags & CLOSE_ON_EXEC) !== 0) continue;
    try {
      closeSync(fd);
      closed += 1;
    } catch {
      // Closed meanwhile.
    }
  }
  return closed;
}
