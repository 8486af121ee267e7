import { procStatFields as statFields } from "../../common/proc-stat.js";

/** A started process as the OS names it uniquely: a pid is reused, a pid with its start time is not. */
export interface StartedProcess {
  readonly pid: number;
  /** Undefined when /proc could not say (the process already gone). */
  readonly startTicks: number | undefined;
}

/**
 * The start time (clock ticks since boot) of a live process, from /proc:
 * with the pid it names the process uniquely (asked once per process
 * started, by the process starter for runs and execs).
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

/** Whether process `pid` is stopped (SIGSTOP, SIGTSTP: exec pause, tether pause), as /proc says now; false when it is gone or unknown. */
export function processStopped(pid: number | undefined): boolean {
  return pid !== undefined && processState(pid) === "T";
}

/** A live process's state letter from /proc (R running, S sleeping, ...); undefined when it is gone. */
export function processState(pid: number): string | undefined {
  return statFields(pid)?.[0];
}
