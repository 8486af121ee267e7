import { log } from "../log.js";
import { formatMs } from "../../common/format.js";
import type { ProcessEnd } from "../process/child-process.js";
import { OutputWriter, PROCESS_BYTES } from "../process/output-writer.js";
import type { TaskDef } from "../tasks/types.js";
import type { LiveRun } from "./live-run.js";
import { logJournal } from "./session-journal.js";
import type { SessionOrder } from "./session-order.js";
import type { SessionStreams } from "./session-streams.js";
import { UNHEALTHY_PREFIX } from "../process/health-watch.js";
import { feedStdin } from "./stdin-feed.js";
import { RESULT_MAX_BYTES } from "./task-result.js";
import type { RunRecord } from "./types.js";
import type { Waiters } from "./waiters.js";

/** How a ready run's state log says its checks pass again after it was unhealthy. */
const HEALTHY_AGAIN = "healthy again: its readiness checks pass";

/** Whether `run` is a ready service its health checks last found unhealthy (its last entry says so; see wireRun). */
export function runUnhealthy(run: RunRecord): boolean {
  return run.status === "ready" && run.reason.startsWith(UNHEALTHY_PREFIX);
}

/** What a started run is wired to in its session. */
export interface RunWiring {
  readonly sessionId: string;
  readonly streams: SessionStreams;
  /** Wakes the run's stdin feeder when a record arrives on `stdin`. */
  readonly stdinArrivals: Waiters;
  /** Commits the run's row as it is now (its pid known); not fsynced: a power cut stops the process anyway. */
  readonly storeProcess: (saved: RunRecord) => Promise<unknown>;
  /** The readiness checks passed while the run lives. */
  readonly onReady: () => void;
  /** Once ready, its checks failed HEALTH_FAILURES rounds in a row, or passed again after: an entry for its state log, `ready` again with `reason`. */
  readonly onHealth: (reason: string) => void;
  /** The process ended and all its output is stored (`lost`: what could not be, in words). */
  readonly onEnded: (end: ProcessEnd, lost: string | undefined) => void;
}

/**
 * Wires a run whose process has just started (after its `running`
 * transition): its pid stored in the next commit, before any of its output
 * (so what the run printed is never seen before the daemon knows what to
 * stop after a crash); its stdin fed from the `stdin` stream when the task
 * asks; its timeout; its readiness checks; and its end, once its output is
 * stored.
 */
export function wireRun(live: LiveRun, task: TaskDef, argv0: string, wiring: RunWiring): void {
  const { run, process, writer } = live;
  const pidStored = live.started
    .then((pid) => (pid === undefined ? undefined : wiring.storeProcess({ ...run })))
    .catch((error: unknown) => log(`session ${wiring.sessionId}: run ${run.number}'s pid was not stored: ${(error as Error).message}`));
  writer.holdUntil(pidStored);
  if (process.stdin !== undefined) void feedStdin(wiring.streams, run.number, process.stdin, wiring.stdinArrivals, process.ended);
  if (task.timeoutMs > 0) live.killAfter(task.timeoutMs, `timed out after ${formatMs(task.timeoutMs)}`);
  if (task.readiness !== undefined) live.watchReadiness(task.readiness, wiring.onReady, (unhealthy) => {
    // Shown while it is ready, where it differs: turned while waiting for input, it is shown once ready again.
    if (run.status === "ready" && runUnhealthy(run) !== (unhealthy !== undefined)) wiring.onHealth(unhealthy ?? HEALTHY_AGAIN);
  });
  void process.ended.then(async (ended) => {
    // Node's words name the program, which a secret input may have rendered.
    const end = ended.t === "failed-to-start" ? { ...ended, message: live.hide(ended.message) } : ended;
    if (end.t === "failed-to-start") void writer.write(2, Buffer.from(live.hide(`tether: cannot start ${argv0}: ${end.message}\n`)));
    await writer.settled();
    const lost = writer.describeLost();
    if (lost !== undefined) log(`session ${wiring.sessionId}: run ${run.number}: ${lost}`);
    wiring.onEnded(end, lost);
  });
}

/** Where a run's stdout and stderr go: the session's log journal, each chunk tagged with the run's number; its stdout kept too for `result: stdout`. */
export function runOutputWriter(order: SessionOrder, sessionId: string, run: RunRecord, task: TaskDef): OutputWriter {
  return new OutputWriter((inputs) => order.append(logJournal(sessionId), inputs, PROCESS_BYTES), {
    tag: { r: String(run.number) },
    keepStdoutBytes: task.result === "stdout" ? RESULT_MAX_BYTES : 0,
    journalStart: order.endOf(logJournal(sessionId)),
  });
}
