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
  const fields = statFields(pid);
  return fields !== undefined && fields.length > 19 ? Number(fields[19]) : undefined;
}

/** The foreground process group of a live process's controlling terminal (the group its keys and size changes signal), from /proc; undefined when there is none. */
export function terminalForegroundGroup(pid: number): number | undefined {
  const group = Number(statFields(pid)?.[5]);
  return group > 0 ? group : undefined;
}

/** A live process's process group, from /proc; undefined when it is gone. */
export function processGroup(pid: number): number | undefined {
  const fields = statFields(pid);
  return fields === undefined ? undefined : Number(fields[2]);
}

/** A live process's state letter from /proc (R running, S sleeping, ...); undefined when it is gone. */
export function processState(pid: number): string | undefined {
  return statFields(pid)?.[0];
}

/** The fields of /proc/PID/stat after the command name (the state first), or undefined when the process is gone. */
function statFields(pid: number): string[] | undefined {
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
