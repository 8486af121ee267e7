import type { TaskDef } from "../tasks/types.js";
import { FINAL_RUN_STATUSES, type RunRecord } from "./types.js";

/** Why a pending task cannot start yet: an upstream still going ("wait"), or the upstream that ended badly (the task is skipped). */
export type Blocked = "wait" | { readonly task: string; readonly status: string };

/** How the graph ended, once the main task is done and nothing but ready services is left. */
export interface GraphOutcome {
  readonly succeeded: boolean;
  readonly exitCode: number;
  /** Why it failed; empty when it succeeded. */
  readonly error: string;
}

/**
 * The runs of a session's task graph and what they imply: each task's
 * current attempt, what holds a pending task back, and the graph's outcome.
 * No I/O and no timers: LiveSession decides when to ask and records every
 * change it makes.
 */
export class RunGraph {
  readonly tasks: ReadonlyMap<string, TaskDef>;
  /** Every run, in order; the last run of a task is its current attempt. */
  readonly runs: RunRecord[];
  /** Each task's current attempt: asked per task and per upstream on every schedule, so never a scan of the runs. */
  private readonly latestRun = new Map<string, RunRecord>();
  /** Tasks skipped because their condition was false: their downstreams go on. */
  private readonly conditionSkipped = new Set<string>();
  /** Exit codes of failures, by task, passed down to the tasks they skip. */
  private readonly failureCodes = new Map<string, number>();

  constructor(tasks: readonly TaskDef[], runs: RunRecord[]) {
    this.tasks = new Map(tasks.map((t) => [t.name, t]));
    this.runs = runs;
    for (const run of runs) this.latestRun.set(run.task, run);
    for (const run of runs) if (run.status === "skipped" && run.reason.startsWith("condition")) this.conditionSkipped.add(run.task);
  }

  task(name: string): TaskDef {
    return this.tasks.get(name)!;
  }

  latest(task: string): RunRecord | undefined {
    return this.latestRun.get(task);
  }

  /** A new pending run of `task`, numbered after the last run. */
  addRun(task: string, attempt: number): RunRecord {
    const run: RunRecord = {
      number: this.runs.length + 1,
      task,
      attempt,
      status: "pending",
      pid: undefined,
      startTicks: undefined,
      exitCode: undefined,
      reason: "",
      command: "",
      transitions: [{ status: "pending", at: Date.now(), reason: "" }],
    };
    this.runs.push(run);
    this.latestRun.set(task, run);
    return run;
  }

  /** What holds `task` back; undefined when every upstream is done well. `retrying` says whether a task has a retry pending. */
  blockingUpstream(task: TaskDef, retrying: (task: string) => boolean): Blocked | undefined {
    let waiting = false;
    for (const name of task.upstream) {
      const up = this.latest(name);
      if (up === undefined) continue;
      if (up.status === "succeeded" || up.status === "ready" || (up.status === "skipped" && this.conditionSkipped.has(name))) continue;
      if (FINAL_RUN_STATUSES.has(up.status) && !retrying(name)) return { task: name, status: up.status };
      waiting = true;
    }
    return waiting ? "wait" : undefined;
  }

  /** `task` is skipped because of `blocked`: it inherits the failure's exit code. */
  skippedFor(task: string, blocked: string): void {
    const code = this.failureCodes.get(blocked);
    if (code !== undefined) this.failureCodes.set(task, code);
  }

  skippedByCondition(task: string): void {
    this.conditionSkipped.add(task);
  }

  /** `task` failed for good (no retry left) with `exitCode`. */
  failedFinally(task: string, exitCode: number): void {
    this.failureCodes.set(task, exitCode);
  }

  /** The graph's outcome once `main` is done and nothing but ready services is left; undefined while it goes on. */
  outcome(main: string, retrying: (task: string) => boolean): GraphOutcome | undefined {
    const run = this.latest(main);
    if (run === undefined || !FINAL_RUN_STATUSES.has(run.status) || retrying(main)) return undefined;
    if (this.runs.some((r) => !FINAL_RUN_STATUSES.has(r.status) && r.status !== "ready")) return undefined;
    if (run.status === "succeeded" || (run.status === "skipped" && this.conditionSkipped.has(main))) return { succeeded: true, exitCode: 0, error: "" };
    return { succeeded: false, exitCode: this.failureCodes.get(main) ?? run.exitCode ?? 1, error: `task ${main} ${run.status}: ${run.reason}` };
  }
}
