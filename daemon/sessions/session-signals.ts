import { Code } from "@connectrpc/connect";
import { choicesHint } from "../../common/closest-word.js";
import { TetherError } from "../errors.js";
import { processStopped } from "../process/process-identity.js";
import type { LiveRun } from "./live-run.js";
import { LIVE_RUN_STATUSES, type RunRecord, type SessionRecord } from "./types.js";

/**
 * Sends `signal` to the process group of each of session `session`'s live
 * runs (`live`: those of `task`, or all when it is ""), as docker kill and
 * pueue kill --signal do: HUP to a service that reloads on it, STOP and CONT
 * to pause and resume a long job. A run the signal ends fails as a crash
 * does (retried if it has retries left): a cancel is how work is stopped.
 * Refused, saying why, for a task the session has not, or no live run.
 */
export function signalRuns(session: SessionRecord, task: string, live: readonly LiveRun[], signal: NodeJS.Signals): { session: string; runs: RunRecord[] } {
  const tasks = session.spec.tasks.map((t) => t.name);
  if (task !== "" && !tasks.includes(task)) {
    throw new TetherError(Code.NotFound, "TASK_NOT_FOUND", `session ${session.id} has no task ${JSON.stringify(task)}: ${choicesHint(task, tasks, "tasks")}`, { task });
  }
  if (live.length === 0) {
    const what = session.status === "open" ? `no live run${task === "" ? "" : ` of task ${task}`}` : `ended (${session.status})`;
    throw new TetherError(Code.FailedPrecondition, "RUN_NOT_LIVE", `session ${session.id} has ${what}: a signal goes to a running process (tether show ${session.id} lists its runs)`, {
      session: session.id,
    });
  }
  for (const run of live) run.process.signal(signal);
  return { session: session.id, runs: live.map((l) => l.run) };
}

/** Whether live run `run`'s process is stopped (SIGSTOP, SIGTSTP: tether pause), as /proc says now. */
export function runPaused(run: RunRecord): boolean {
  return LIVE_RUN_STATUSES.has(run.status) && processStopped(run.pid);
}
