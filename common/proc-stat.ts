import { closeSync, openSync, readSync } from "node:fs";

/** /proc/PID/stat is a few hundred bytes: its 52 numbers and a command name of at most 64. */
const STAT_BUFFER = Buffer.alloc(4096);

/**
 * The fields of /proc/PID/stat after the command name (the state letter
 * first: R running, S sleeping, Z a zombie, ...), or undefined when the
 * process is gone. The name may hold ") " itself: the fields start after
 * its last ")". One read into a buffer kept for it (readFileSync took twice
 * as long, and the daemon asks once per process it starts).
 */
export function procStatFields(pid: number): string[] | undefined {
  let fd: number;
  try {
    fd = openSync(`/proc/${pid}/stat`, "r");
  } catch {
    return undefined;
  }
  try {
    const stat = STAT_BUFFER.toString("latin1", 0, readSync(fd, STAT_BUFFER, 0, STAT_BUFFER.length, null));
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}
