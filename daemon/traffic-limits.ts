import { Code } from "@connectrpc/connect";
import { readFileSync } from "node:fs";
import { TetherError } from "./errors.js";

/** The most client connections the daemon serves at once, whatever its open-file limit. */
export const CONNECTIONS_MAX = 4096;

/**
 * The most client connections the daemon serves at once: half its
 * open-file limit (Node raises the soft limit to the hard one at start),
 * at most CONNECTIONS_MAX. The other half is the daemon's own: its
 * processes' pipes and terminals, its data files. A client that opens
 * connections and never closes them (a new channel per call, say) would
 * otherwise take every descriptor, and the daemon could start no process
 * and open no file for anyone.
 */
export function connectionLimit(limitsFile = "/proc/self/limits"): number {
  try {
    const line = readFileSync(limitsFile, "utf8")
      .split("\n")
      .find((l) => l.startsWith("Max open files"));
    const soft = Number(line?.split(/\s{2,}/)[1]);
    if (Number.isInteger(soft) && soft > 0) return Math.max(1, Math.min(CONNECTIONS_MAX, Math.floor(soft / 2)));
  } catch {
    // No /proc: the fixed limit.
  }
  return CONNECTIONS_MAX;
}

/**
 * The calls a connection past the limit is still served: the daemon's own
 * (`tether daemon status` shows the connections, `tether daemon stop`
 * stops it), so its user can see and end what a leaking client did.
 */
export function servedPastTheLimit(path: string): boolean {
  return path.startsWith("/tether.v1.DaemonService/");
}

/**
 * The most calls the daemon serves at once over all connections: four per
 * connection it takes (16,384 at most). A call costs ~15 KB while it lasts
 * (10,000 following reads on one connection: +147 MB), so a client that
 * starts calls and never ends them would otherwise grow the daemon without
 * bound, on one connection as on many.
 */
export function callLimit(connections: number): number {
  return connections * 4;
}

/**
 * The most calls one HTTP/2 connection may have open at once (its
 * SETTINGS_MAX_CONCURRENT_STREAMS: a client holds further calls until one
 * ends), so one connection cannot take every call the daemon serves.
 */
export const CALLS_PER_CONNECTION_MAX = 1000;

/**
 * The share of those limits that commands in bwrap sandboxes take together
 * (their own socket: sandboxed-calls.ts): a quarter of the connections, and
 * so of the calls. A sandbox holds the code its user trusts least; at its
 * share's end it is refused, and the user's own clients keep the rest.
 */
export function sandboxConnectionLimit(connections: number): number {
  return Math.max(1, Math.floor(connections / 4));
}

/** A limit on what a share of the daemon's clients holds at once, and the answer past it. */
export interface Limit {
  readonly max: number;
  readonly refusal: TetherError;
}

/** The daemon's limits on connections and calls for everyone (`sandboxed` false), or for the commands in its sandboxes. */
export function trafficLimits(connections: number, sandboxed: boolean): { connections: Limit; calls: Limit } {
  const calls = callLimit(connections);
  const who = sandboxed ? "commands in bwrap sandboxes already have" : "the daemon already serves";
  const asMany = sandboxed ? "as many as the daemon takes from its sandboxes at once (a quarter of its limit)" : "as many as it takes at once";
  return {
    connections: {
      max: connections,
      refusal: new TetherError(
        Code.ResourceExhausted,
        "TOO_MANY_CONNECTIONS",
        `${who} ${connections} connections, ${asMany}: a client is likely opening connections and not closing them; close some, or make many calls on one connection (tether daemon status and stop still work)`,
        { connections: String(connections), limit: String(connections) },
      ),
    },
    calls: {
      max: calls,
      refusal: new TetherError(
        Code.ResourceExhausted,
        "TOO_MANY_CALLS",
        `${who} ${calls} calls, ${asMany}: a client is likely starting calls and not ending them (following reads it never cancels, say); end some (tether daemon status and stop still work)`,
        { calls: String(calls), limit: String(calls) },
      ),
    },
  };
}
