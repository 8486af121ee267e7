import { constants } from "node:os";
import { invalidArgument } from "../errors.js";

/** Between SIGTERM and SIGKILL when tether stops a process (a cancel, a close, a timeout, the daemon's stop; ws stop's and exec stop's default). */
export const KILL_GRACE_MS = 5_000;

/**
 * Signals whose default action ends no process: job control (exec pause's
 * SIGSTOP, resume's SIGCONT) and notices. Sending one stops nothing: a
 * queued exec is not cancelled by it, nor a restart policy set aside.
 */
export const NON_ENDING_SIGNALS: ReadonlySet<NodeJS.Signals> = new Set(["SIGSTOP", "SIGCONT", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGWINCH", "SIGURG", "SIGCHLD"]);

/** A signal by name ("SIGINT", "INT", "int") or number ("2"); empty means SIGTERM. */
export function parseSignal(name: string, field = "signal"): NodeJS.Signals {
  if (name === "") return "SIGTERM";
  const signals = constants.signals as Record<string, number>;
  if (/^\d+$/.test(name)) {
    const found = Object.entries(signals).find(([, n]) => n === Number(name));
    if (found !== undefined) return found[0] as NodeJS.Signals;
  } else {
    const upper = name.toUpperCase();
    const full = upper.startsWith("SIG") ? upper : `SIG${upper}`;
    if (signals[full] !== undefined) return full as NodeJS.Signals;
  }
  throw invalidArgument(field, `unknown signal ${JSON.stringify(name)}: use a name such as SIGTERM, INT or KILL, or a number`);
}
