import { readFileSync, statSync } from "node:fs";
import { processGroup, processState, terminalForegroundGroup } from "./process-identity.js";

/** The end-of-file key of a terminal in its default modes (VEOF, Ctrl-D). */
const END_OF_FILE_KEY = new Uint8Array([4]);
/** How often the program is looked at while the key waits. */
const LOOK_MS = 20;
/** Looks in a row that must find the program waiting for input (LOOK_MS apart): input just written wakes it within one. */
const LOOKS_WAITING = 2;
/** Looks in a row at which /proc did not say (a program not yet given its terminal, a kernel that hides wchan) before the key is typed all the same. */
const LOOKS_UNKNOWN_MAX = 50;
/**
 * Where a process sleeps while it waits for input (/proc/PID/wchan): a
 * terminal read (n_tty_read sleeps in wait_woken), poll, select and epoll
 * (readline's pselect, editors, event loops).
 */
const WAITING_FOR_INPUT = /^(?:wait_woken|n_tty_read|poll_schedule_timeout|do_select|core_sys_select|do_sys_poll|ep_poll|do_epoll_wait)/;

/** The terminal whose typed input has ended, as typeEndOfInput needs it. */
export interface TypedTerminal {
  /** The program's pid (the terminal's session leader). */
  readonly pid: number;
  /** The terminal's device number (its slave's st_rdev), or undefined when unknown. */
  readonly device: number | undefined;
  /** True once the program has exited. */
  gone(): boolean;
  /** True while input written earlier still waits for room in the terminal. */
  inputWaiting(): boolean;
  type(data: Uint8Array): void;
}

/**
 * Types the end-of-file key when a client's typed input has ended (its
 * stdin was a pipe or a file: `echo make | tether pty ws`, `tether exec -t
 * ws -- bash < script`), once the terminal's foreground program has taken
 * everything typed before and waits for more, as util-linux `script` waits
 * for its child to read before it sends the key. Typed at once, the key can
 * reach a shell before its line editor reads: bash starting up leaves the
 * terminal in canonical mode, where the key becomes an end-of-file mark that
 * readline's switch to its own mode turns into a NUL, and the shell never
 * ends. So the key is typed once a process of the terminal's foreground
 * process group that has the terminal as its stdin (`cat` in `sh -c 'sleep
 * 1; cat'`, not the shell waiting for it) was asleep waiting for input at
 * LOOKS_WAITING looks in a row with nothing left to write, or after
 * LOOKS_UNKNOWN_MAX looks at which /proc did not say. A program that never
 * waits for input again never gets it.
 */
export function typeEndOfInput(terminal: TypedTerminal): void {
  let waitingLooks = 0;
  let unknownLooks = 0;
  const look = (): void => {
    if (terminal.gone()) return;
    const waiting = foregroundWaitsForInput(terminal.pid, terminal.device);
    unknownLooks = waiting === undefined ? unknownLooks + 1 : 0;
    waitingLooks = waiting === true && !terminal.inputWaiting() ? waitingLooks + 1 : 0;
    if (waitingLooks >= LOOKS_WAITING || unknownLooks >= LOOKS_UNKNOWN_MAX) terminal.type(END_OF_FILE_KEY);
    else setTimeout(look, LOOK_MS);
  };
  look();
}

/**
 * Whether a process of the terminal's foreground group, among the program
 * and its descendants, waits for input on the terminal; undefined when /proc
 * does not say (no foreground group yet, no such process found, no wchan).
 */
function foregroundWaitsForInput(leader: number, device: number | undefined): boolean | undefined {
  const group = terminalForegroundGroup(leader);
  if (group === undefined) return undefined;
  const members = descendants(leader).filter((pid) => processGroup(pid) === group);
  if (members.length === 0) return undefined;
  let unknown = false;
  for (const pid of members) {
    const waiting = waitsForInput(pid);
    if (waiting === undefined) unknown = true;
    else if (waiting && readsTerminal(pid, device)) return true;
  }
  return unknown ? undefined : false;
}

/** `pid` and every process below it, from /proc/PID/task/PID/children (the children its main thread started). */
function descendants(pid: number): number[] {
  const found = [pid];
  for (let i = 0; i < found.length; i++) {
    let children: string;
    try {
      children = readFileSync(`/proc/${found[i]}/task/${found[i]}/children`, "latin1");
    } catch {
      continue;
    }
    for (const child of children.split(" ")) if (child !== "") found.push(Number(child));
  }
  return found;
}

/** Whether a process sleeps waiting for input (see WAITING_FOR_INPUT); undefined when /proc does not say. */
function waitsForInput(pid: number): boolean | undefined {
  let wchan: string;
  try {
    wchan = readFileSync(`/proc/${pid}/wchan`, "latin1");
  } catch {
    return undefined;
  }
  // "0" is a running process's, or every process's where the kernel hides where it sleeps.
  if (wchan === "" || wchan === "0") return processState(pid) === "S" ? undefined : false;
  return WAITING_FOR_INPUT.test(wchan);
}

/** Whether the process's stdin is the terminal (by device number, which holds inside a sandbox's mount namespace too); true when unknown. */
function readsTerminal(pid: number, device: number | undefined): boolean {
  if (device === undefined) return true;
  try {
    return statSync(`/proc/${pid}/fd/0`).rdev === device;
  } catch {
    return false;
  }
}
