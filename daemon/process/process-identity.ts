import { closeSync, openSync, readSync } from "node:fs";

/** A started process as the OS names it uniquely: a pid is reused, a pid with its start time is not. */
export interface StartedProcess {
  readonly pid: number;
  /** Undefined when /proc could not say (the process already gone). */
  readonly startTicks: number | undefined;
}

/** /proc/PID/stat is a few hundred bytes: its 52 numbers and a command name of at most 64. */
const STAT_BUFFER = Buffer.alloc(4096);

/**
 * The start time (clock ticks since boot) of a live process, from /proc:
 * with the pid it names the process uniquely. One read into a buffer kept
 * for it (asked once per process started, by the process starter for runs and
 * execs: readFileSync took twice as long).
 */
export function processStartTicks(pid: number): number | undefined {
  let fd: number;
  try {
    fd = openSync(`/proc/${pid}/stat`, "r");
  } catch {
    return undefined;
  }
  try {
    const stat = STAT_BUFFER.toString("latin1", 0, readSync(fd, STAT_BUFFER, 0, STAT_BUFFER.length, null));
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return fields.length > 19 ? Number(fields[19]) : undefined;
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}
