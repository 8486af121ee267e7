import type { TaskDef } from "../tasks/types.js";
import type { SourcesVerdict } from "./source-checks.js";
import { assertRunTransition } from "./lifecycle.js";
import { FINAL_RUN_STATUSES, LIVE_RUN_STATUSES, type RunRecord, type RunStatus } from "./types.js";

/** Why a pending task cannot start yet: an upstream still going ("wait"), or the upstream that ended badly (the task is skipped). */
export type Blocked = "wait" | { readonly task: string; readonly status: string };

/** What a pending run becomes now: nothing yet ("wait"), skipped (and why), queued, or (a group's, which runs nothing) done. */
/** What a pending run's fate asks of its session: whether a task has a retry pending, whether a condition holds now, and whether a run is up to date (source-checks.ts). */
export interface FateChecks {
  readonly retrying: (task: string) => boolean;
  readonly conditionHolds: (condition: string) => boolean;
  readonly sources: (run: RunRecord, task: TaskDef) => SourcesVerdict;
}

export type PendingFate = { readonly t: "wait" } | { readonly t: "skip" | "done"; readonly reason: string } | { readonly t: "queue" };

const WAIT: PendingFate = { t: "wait" };
/** How a `when: on_failure` task's skip begins when none of its upstreams failed: as a condition's, its downstreams go on. */
const NOTHING_FAILED = "when: on_failure";
const QUEUE: PendingFate = { t: "queue" };
const GROUP_DONE: PendingFate = { t: "done", reason: "a group: its upstreams are done, and it runs nothing" };

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
 * change it makes. Every run's status changes here (setStatus), which keeps
 * the indexes that make a schedule cost what changed, not the graph's size
 * (a graph of 1000 tasks otherwise scanned every task and run on each of its
 * thousands of changes).
 */
export class RunGraph {
  readonly tasks: ReadonlyMap<string, TaskDef>;
  /** Every run, in order; the last run of a task is its current attempt. */
  readonly runs: RunRecord[];
  /** Each task's current attempt: asked per task and per upstream on every schedule, so never a scan of the runs. */
  private readonly latestRun = new Map<string, RunRecord>();
  /** The tasks that list each task as an upstream. */
  private readonly downstreams = new Map<string, string[]>();
  /** Runs not in a final status, in run order. */
  private readonly unfinished = new Set<RunRecord>();
  /** Queued runs, in the order they were queued. */
  private readonly queued = new Set<RunRecord>();
  /** Runs whose process is alive (running, ready, waiting): at most the session's parallelism. */
  private readonly live = new Set<RunRecord>();
  /** Pending runs to look at on the next schedule: new ones, and those an upstream of which changed since. */
  private readonly toCheck = new Set<RunRecord>();
  /** Tasks whose current attempt ended other than well (failed, skipped for an upstream, cancelled, lost). */
  private readonly endedBadly = new Set<string>();
  /** Per task: how many of its first upstreams are done for good (succeeded, or skipped by their condition); a check starts after them. */
  private readonly upstreamsDone = new Map<string, number>();
  /** Tasks skipped because their condition was false: their downstreams go on. */
  private readonly conditionSkipped = new Set<string>();
  /** Exit codes of failures, by task, passed down to the tasks they skip. */
  private readonly failureCodes = new Map<string, number>();

  constructor(tasks: readonly TaskDef[], runs: RunRecord[]) {
    this.tasks = new Map(tasks.map((t) => [t.name, t]));
    for (const task of tasks) for (const up of task.upstream) this.downstreams.set(up, [...(this.downstreams.get(up) ?? []), task.name]);
    this.runs = runs;
    for (const run of runs) if (run.status === "skipped" && (run.reason.startsWith("condition") || run.reason.startsWith(NOTHING_FAILED))) this.conditionSkipped.add(run.task);
    for (const run of runs) this.latestRun.set(run.task, run);
    for (const run of runs) this.index(run);
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
    // A later attempt replaces one that ended: what the graph knew of that task's upstream state starts over.
    if (this.latestRun.has(task)) this.upstreamsDone.clear();
    this.latestRun.set(task, run);
    this.endedBadly.delete(task);
    this.index(run);
    this.downstreamsChanged(task);
    return run;
  }

  /** Moves `run` to `status` (a transition the run lifecycle allows, or this throws), stamped `at`. */
  setStatus(run: RunRecord, status: RunStatus, reason: string, at: number): void {
    assertRunTransition(run.number, run.status, status);
    this.queued.delete(run);
    this.toCheck.delete(run);
    this.live.delete(run);
    run.status = status;
    run.reason = reason;
    run.transitions.push({ status, at, reason });
    if (FINAL_RUN_STATUSES.has(status)) this.unfinished.delete(run);
    this.index(run);
    if (this.latestRun.get(run.task) === run) this.downstreamsChanged(run.task);
  }

  /** Runs whose process is alive (running, ready, waiting). */
  liveRuns(): Iterable<RunRecord> {
    return this.live;
  }

  /** Whether a run is yet to start: pending on its upstreams, or queued for a slot. */
  hasRunsToStart(): boolean {
    return this.unfinished.size > this.live.size;
  }

  /** Runs yet to start (pending on their upstreams, or queued), in run order. */
  runsYetToStart(): RunRecord[] {
    return this.runs.filter((r) => r.status === "pending" || r.status === "queued");
  }

  /** Queued runs in the order they were queued: the order they start in. */
  queuedRuns(): Iterable<RunRecord> {
    return this.queued;
  }

  /** The pending runs a schedule must look at (see toCheck), in run order; each is looked at once until something changes again. */
  takeToCheck(): RunRecord[] {
    const runs = [...this.toCheck].sort((a, b) => a.number - b.number);
    this.toCheck.clear();
    return runs;
  }

  /** What holds `task` back; undefined when every upstream is done well. `retrying` says whether a task has a retry pending. */
  blockingUpstream(task: TaskDef, retrying: (task: string) => boolean): Blocked | undefined {
    // No task has ended badly: nothing can block by failure, so the first upstream not done well says "wait".
    if (this.endedBadly.size === 0) {
      let done = this.upstreamsDone.get(task.name) ?? 0;
      while (done < task.upstream.length && this.doneForGood(task.upstream[done]!)) done++;
      this.upstreamsDone.set(task.name, done);
      for (let i = done; i < task.upstream.length; i++) if (!this.doneWell(task.upstream[i]!)) return "wait";
      return undefined;
    }
    // A task with `when:` waits for every upstream to end, a failure among them or not; another is skipped at the first.
    let waiting = false;
    let bad: Blocked | undefined;
    for (const name of task.upstream) {
      if (this.doneWell(name)) continue;
      const up = this.latest(name)!;
      if (FINAL_RUN_STATUSES.has(up.status) && !retrying(name)) {
        if (task.when === undefined) return { task: name, status: up.status };
        bad ??= { task: name, status: up.status };
        continue;
      }
      waiting = true;
    }
    return waiting ? "wait" : bad;
  }

  /**
   * What pending `run` becomes now: it waits while an upstream is still
   * going or its own task has a retry pending (`retrying`); it is skipped
   * for an upstream that ended badly (unless its task says `when: always`
   * or `on_failure`, which waits for every upstream to end, and is skipped
   * by on_failure when none ended badly), or when its condition does not hold
   * (`conditionHolds`, asked only then); else it is queued, or done
   * (succeeded) when it runs nothing: a group's (no cmd), or one up to date
   * with its sources (`sources`: it waits while that is checked, and is
   * looked at again once it is, recheck). A skip is noted here (skippedFor,
   * skippedByCondition); the caller records the transition.
   */
  pendingFate(run: RunRecord, { retrying, conditionHolds, sources }: FateChecks): PendingFate {
    const task = this.task(run.task);
    if (run.status !== "pending" || retrying(task.name)) return WAIT;
    const blocked = this.blockingUpstream(task, retrying);
    if (blocked === "wait") return WAIT;
    if (blocked !== undefined && task.when === undefined) {
      this.skippedFor(task.name, blocked.task);
      return { t: "skip", reason: `upstream ${blocked.task} ${blocked.status}` };
    }
    if (blocked === undefined && task.when === "on_failure") {
      this.skippedByCondition(task.name);
      return { t: "skip", reason: `${NOTHING_FAILED}, and no upstream failed` };
    }
    if (task.condition !== undefined && !conditionHolds(task.condition)) {
      this.skippedByCondition(task.name);
      return { t: "skip", reason: `condition ${JSON.stringify(task.condition)} is false` };
    }
    if (task.cmd === undefined) return GROUP_DONE;
    const verdict = sources(run, task);
    return verdict === undefined ? WAIT : verdict === "stale" ? QUEUE : { t: "done", reason: verdict.upToDate };
  }

  /** Pending `run` is to be looked at again (its sources' check has its verdict). */
  recheck(run: RunRecord): void {
    if (run.status === "pending") this.toCheck.add(run);
  }

  /**
   * The upstreams of `task`, transitively and each after its own, whose
   * current attempt is not done well: ended badly (failed, cancelled, lost,
   * skipped for a failure) or a service no longer running. A keep_open
   * session's next run needs them run again first: a service lost with the
   * daemon, a build that failed before the conversation's last message.
   */
  upstreamsToRunAgain(task: string): string[] {
    const again: string[] = [];
    const seen = new Set<string>();
    const visit = (name: string): void => {
      for (const up of this.task(name).upstream) {
        if (seen.has(up)) continue;
        seen.add(up);
        visit(up);
        if (!this.doneWell(up)) again.push(up);
      }
    };
    visit(task);
    return again;
  }

  /**
   * The retries a graph still owes, when it has not finished: each task
   * whose current attempt failed with attempts left (a failure that ends the
   * graph, or fail-fast, finishes it first) and when the retry falls due, as
   * the failure's time and the task's retry_delay say. For a daemon that
   * starts again: a retry's timer did not outlive the last one.
   */
  retriesOwed(): { readonly task: TaskDef; readonly attempt: number; readonly dueAt: number }[] {
    const owed = [];
    for (const [name, run] of this.latestRun) {
      const task = this.task(name);
      if (run.status === "failed" && run.attempt <= task.retries) owed.push({ task, attempt: run.attempt + 1, dueAt: run.transitions.at(-1)!.at + task.retryDelayMs });
    }
    return owed;
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

  /**
   * The graph's outcome once `main` is done, no retry is pending (`retriesPending`:
   * a sibling's retry runs, as a running sibling finishes) and nothing but ready
   * services is left; undefined while it goes on.
   */
  outcome(main: string, retriesPending: number): GraphOutcome | undefined {
    const run = this.latest(main);
    if (run === undefined || !FINAL_RUN_STATUSES.has(run.status) || retriesPending > 0) return undefined;
    for (const r of this.unfinished) if (r.status !== "ready") return undefined;
    if (!this.doneForGood(main)) return { succeeded: false, exitCode: this.failureCodes.get(main) ?? run.exitCode ?? 1, error: `task ${main} ${run.status}: ${run.reason}` };
    // A failure the main task went on past (it says when:, or a ready service failed since) fails the graph, as a failed job fails a CI pipeline.
    const failed = this.firstFailed();
    if (failed === undefined) return { succeeded: true, exitCode: 0, error: "" };
    return { succeeded: false, exitCode: failed.exitCode ?? 1, error: `task ${failed.task} failed: ${failed.reason}` };
  }

  /** The first task whose current attempt failed for good, its failure not allowed. */
  private firstFailed(): RunRecord | undefined {
    for (const task of this.endedBadly) {
      const run = this.latestRun.get(task)!;
      if (run.status === "failed") return run;
    }
    return undefined;
  }

  /**
   * Succeeded, skipped by its condition, or failed for good where its task
   * allows it (allow_failure): a state the task's current attempt never
   * leaves. No run (not in the graph) counts as done.
   */
  private doneForGood(task: string): boolean {
    const run = this.latestRun.get(task);
    if (run === undefined || run.status === "succeeded") return true;
    if (run.status === "skipped") return this.conditionSkipped.has(task);
    return run.status === "failed" && this.allowedFailure(run);
  }

  /** A failed run with no attempt left whose task allows its failure. */
  private allowedFailure(run: RunRecord): boolean {
    const task = this.task(run.task);
    return task.allowFailure === true && run.attempt > task.retries;
  }

  /** Done for good, or ready (a service whose downstreams may start). */
  private doneWell(task: string): boolean {
    return this.doneForGood(task) || this.latestRun.get(task)!.status === "ready";
  }

  /** Files a run under its status in the indexes. */
  private index(run: RunRecord): void {
    if (!FINAL_RUN_STATUSES.has(run.status)) this.unfinished.add(run);
    if (run.status === "pending") this.toCheck.add(run);
    if (run.status === "queued") this.queued.add(run);
    if (LIVE_RUN_STATUSES.has(run.status)) this.live.add(run);
    if (FINAL_RUN_STATUSES.has(run.status) && this.latestRun.get(run.task) === run && !this.doneForGood(run.task)) this.endedBadly.add(run.task);
  }

  /** `task`'s current attempt changed: its pending downstreams must be looked at again. */
  private downstreamsChanged(task: string): void {
    for (const name of this.downstreams.get(task) ?? []) {
      const run = this.latestRun.get(name);
      if (run?.status === "pending") this.toCheck.add(run);
    }
  }
}
