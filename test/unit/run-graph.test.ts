import { describe, expect, it } from "vitest";
import { RunGraph, type FateChecks } from "../../daemon/sessions/run-graph.js";
import type { RunStatus } from "../../daemon/sessions/types.js";
import { parseTaskFile } from "../../daemon/tasks/task-file.js";

const TASKS = parseTaskFile(
  "/p/tether.yaml",
  `tasks:
  lint: { cmd: "true", condition: "false" }
  build: { cmd: "true" }
  test: { cmd: "true", upstream: [lint, build] }
  deploy: { cmd: "true", upstream: [test] }
`,
).tasks;

function graph(): RunGraph {
  const g = new RunGraph([...TASKS.values()], []);
  for (const name of TASKS.keys()) g.addRun(name, 1);
  return g;
}

/** Takes `task`'s current run to `status` the way the scheduler would (through queued and running where the lifecycle asks for it). */
function end(g: RunGraph, task: string, status: RunStatus, exitCode?: number): void {
  const run = g.latest(task)!;
  const reason = status === "skipped" && task === "lint" ? "condition false" : `${status} here`;
  const path: RunStatus[] = run.status !== "pending" || status === "skipped" || status === "cancelled" ? [status] : ["queued", "running", status];
  run.exitCode = exitCode;
  for (const step of path) g.setStatus(run, step, step === status ? reason : "", Date.now());
}

const never = (): boolean => false;

/** A fate's checks with no sources to look at (source-checks.ts: every run stale, as a task without them). */
function checks(retrying: FateChecks["retrying"], conditionHolds: FateChecks["conditionHolds"]): FateChecks {
  return { retrying, conditionHolds, sources: () => "stale" };
}

describe("the run graph", () => {
  it("holds a task while an upstream runs or retries, and lets it go once all are done well (a condition skip counts as done)", () => {
    const g = graph();
    expect(g.runs.map((r) => [r.number, r.task])).toEqual([[1, "lint"], [2, "build"], [3, "test"], [4, "deploy"]]);
    expect(g.blockingUpstream(TASKS.get("test")!, never)).toBe("wait");
    g.skippedByCondition("lint");
    end(g, "lint", "skipped");
    end(g, "build", "failed", 2);
    expect(g.blockingUpstream(TASKS.get("test")!, (task) => task === "build")).toBe("wait");
    const retry = g.addRun("build", 2);
    expect([retry.number, g.latest("build")]).toEqual([5, retry]);
    end(g, "build", "succeeded", 0);
    expect(g.blockingUpstream(TASKS.get("test")!, never)).toBeUndefined();
  });

  it("says what a pending run becomes: it waits for upstreams and its own retry, is skipped for a false condition or an upstream's failure, else is queued", () => {
    const g = graph();
    const run = (task: string) => g.latest(task)!;
    const asked: string[] = [];
    const holds = (answer: boolean) => (condition: string) => (asked.push(condition), answer);
    expect(g.pendingFate(run("build"), checks((task) => task === "build", holds(true)))).toEqual({ t: "wait" });
    expect(g.pendingFate(run("build"), checks(never, holds(true)))).toEqual({ t: "queue" });
    expect(asked).toEqual([]); // build has no condition to ask about
    expect(g.pendingFate(run("lint"), checks(never, holds(false)))).toEqual({ t: "skip", reason: 'condition "false" is false' });
    end(g, "lint", "skipped");
    expect(g.pendingFate(run("test"), checks(never, holds(true)))).toEqual({ t: "wait" });
    end(g, "build", "failed", 4);
    g.failedFinally("build", 4);
    expect(g.pendingFate(run("test"), checks(never, holds(true)))).toEqual({ t: "skip", reason: "upstream build failed" });
    end(g, "test", "skipped");
    g.skippedFor("deploy", "test");
    end(g, "deploy", "skipped");
    // The skip passed build's exit code down, and lint's condition skip did not count as a failure.
    expect(g.outcome("deploy", 0)).toMatchObject({ succeeded: false, exitCode: 4 });
    expect(g.pendingFate(run("test"), checks(never, holds(true)))).toEqual({ t: "wait" }); // no longer pending
    expect(asked).toEqual(["false"]); // lint's condition, the only one
  });

  it("skips downstreams of a failure, passing its exit code down, and says how the graph ended", () => {
    const g = graph();
    end(g, "lint", "succeeded", 0);
    end(g, "build", "failed", 3);
    g.failedFinally("build", 3);
    expect(g.blockingUpstream(TASKS.get("test")!, never)).toEqual({ task: "build", status: "failed" });
    g.skippedFor("test", "build");
    end(g, "test", "skipped");
    g.skippedFor("deploy", "test");
    expect(g.outcome("deploy", 0)).toBeUndefined(); // deploy is still pending
    end(g, "deploy", "skipped");
    expect(g.outcome("deploy", 0)).toEqual({ succeeded: false, exitCode: 3, error: "task deploy skipped: skipped here" });
  });

  it("ends well when the main task succeeded or its condition skipped it, with only ready services left", () => {
    const g = graph();
    end(g, "build", "ready");
    end(g, "test", "succeeded", 0);
    expect(g.outcome("test", 0)).toBeUndefined(); // lint is still pending
    g.skippedByCondition("lint");
    end(g, "lint", "skipped");
    expect(g.outcome("test", 0)).toBeUndefined(); // deploy too
    end(g, "deploy", "cancelled");
    expect(g.outcome("test", 0)).toEqual({ succeeded: true, exitCode: 0, error: "" });
    expect(g.outcome("lint", 0)).toEqual({ succeeded: true, exitCode: 0, error: "" });
    // A retry pending, of the main task or of any other: the graph goes on.
    expect(g.outcome("test", 1)).toBeUndefined();
  });

  it("hands a schedule only the pending runs an upstream of which changed, and starts queued runs in the order they were queued", () => {
    const g = graph();
    expect(g.takeToCheck().map((r) => r.task)).toEqual(["lint", "build", "test", "deploy"]);
    expect(g.takeToCheck()).toEqual([]);
    end(g, "build", "succeeded", 0);
    expect(g.takeToCheck().map((r) => r.task)).toEqual(["test"]);
    g.setStatus(g.latest("test")!, "queued", "", Date.now());
    g.setStatus(g.latest("lint")!, "queued", "", Date.now());
    expect([...g.queuedRuns()].map((r) => r.task)).toEqual(["test", "lint"]);
    expect(g.takeToCheck().map((r) => r.task)).toEqual(["deploy"]);
    // What the session's activity is derived from: the live runs, and whether any is yet to start.
    expect([...g.liveRuns()]).toEqual([]);
    g.setStatus(g.latest("test")!, "running", "", Date.now());
    g.setStatus(g.latest("test")!, "waiting", "", Date.now());
    g.setStatus(g.latest("lint")!, "running", "", Date.now());
    expect([...g.liveRuns()].map((r) => r.task)).toEqual(["test", "lint"]);
    expect(g.hasRunsToStart()).toBe(true); // deploy is pending
    g.setStatus(g.latest("lint")!, "succeeded", "", Date.now());
    g.setStatus(g.latest("deploy")!, "cancelled", "", Date.now());
    expect([...g.liveRuns()].map((r) => r.task)).toEqual(["test"]);
    expect(g.hasRunsToStart()).toBe(false);
  });

  it("says what blocks a task with many upstreams as it would after a full look, as they end in any order", () => {
    const names = Array.from({ length: 20 }, (_, i) => `t${i}`);
    const file = parseTaskFile("/p/tether.yaml", `tasks:\n${names.map((n) => `  ${n}: { cmd: "true" }\n`).join("")}  all: { cmd: "true", upstream: [${names.join(", ")}] }\n`).tasks;
    const g = new RunGraph([...file.values()], []);
    for (const name of file.keys()) g.addRun(name, 1);
    const all = file.get("all")!;
    for (const name of [...names.slice(10), ...names.slice(0, 9)]) {
      end(g, name, "succeeded", 0);
      expect(g.blockingUpstream(all, never)).toBe("wait");
    }
    end(g, "t9", "ready");
    expect(g.blockingUpstream(all, never)).toBeUndefined();
    // A failure elsewhere: the full look finds it.
    end(g, "t9", "failed", 4);
    expect(g.blockingUpstream(all, never)).toEqual({ task: "t9", status: "failed" });
    expect(g.blockingUpstream(all, (task) => task === "t9")).toBe("wait");
    const retry = g.addRun("t9", 2);
    expect(g.blockingUpstream(all, never)).toBe("wait");
    end(g, retry.task, "succeeded", 0);
    expect(g.blockingUpstream(all, never)).toBeUndefined();
  });

  it("names, upstream first, what a task needs run again: upstreams that ended badly, not those done well or skipped by their condition", () => {
    const g = graph();
    g.skippedByCondition("lint");
    end(g, "lint", "skipped");
    end(g, "build", "failed", 2);
    end(g, "test", "skipped");
    end(g, "deploy", "skipped");
    expect(g.upstreamsToRunAgain("deploy")).toEqual(["build", "test"]);
    expect(g.upstreamsToRunAgain("test")).toEqual(["build"]);
    g.addRun("build", 1);
    end(g, "build", "succeeded");
    expect(g.upstreamsToRunAgain("deploy")).toEqual(["test"]);
    expect(g.upstreamsToRunAgain("build")).toEqual([]);
  });

  it("goes on past a task allowed to fail once it has failed for good: its downstreams start, and as the main task its outcome is a success", () => {
    const tasks = parseTaskFile("/p/tether.yaml", "tasks:\n  lint: { cmd: x, retries: 1, allow_failure: true }\n  test: { cmd: y, upstream: [lint] }\n").tasks;
    const g = new RunGraph([...tasks.values()], []);
    g.addRun("lint", 1);
    g.addRun("test", 1);
    end(g, "lint", "failed", 3);
    // Its retry is owed: the downstream waits for it, and the graph is not done.
    expect(g.blockingUpstream(tasks.get("test")!, (task) => task === "lint")).toBe("wait");
    expect(g.retriesOwed().map((r) => [r.task.name, r.attempt])).toEqual([["lint", 2]]);
    expect(g.outcome("lint", 1)).toBeUndefined();
    g.addRun("lint", 2);
    end(g, "lint", "failed", 3);
    expect(g.blockingUpstream(tasks.get("test")!, never)).toBeUndefined();
    expect(g.pendingFate(g.latest("test")!, checks(never, () => true))).toEqual({ t: "queue" });
    expect(g.retriesOwed()).toEqual([]);
    end(g, "test", "succeeded", 0);
    expect(g.outcome("test", 0)).toEqual({ succeeded: true, exitCode: 0, error: "" });
    expect(g.outcome("lint", 0)).toEqual({ succeeded: true, exitCode: 0, error: "" });
    expect(g.upstreamsToRunAgain("test")).toEqual([]);
  });

  it("runs a when: always task once every upstream has ended, whatever the outcome, and a when: on_failure one only after a failure; a failure the main task went on past fails the graph", () => {
    const tasks = parseTaskFile(
      "/p/tether.yaml",
      `tasks:
  test: { cmd: x }
  slow: { cmd: x }
  rollback: { cmd: x, upstream: [test, slow], when: on_failure }
  cleanup: { cmd: x, upstream: [test, slow], when: always }
  ci: { cmd: x, upstream: [cleanup, rollback] }
`,
    ).tasks;
    const fresh = (): RunGraph => {
      const g = new RunGraph([...tasks.values()], []);
      for (const name of tasks.keys()) g.addRun(name, 1);
      return g;
    };
    const fate = (g: RunGraph, task: string) => g.pendingFate(g.latest(task)!, checks(never, () => true));

    // test fails while slow still runs: both wait for slow, where an on_success task would be skipped at once.
    const failing = fresh();
    end(failing, "test", "failed", 4);
    failing.failedFinally("test", 4);
    expect(fate(failing, "cleanup")).toEqual({ t: "wait" });
    expect(fate(failing, "rollback")).toEqual({ t: "wait" });
    end(failing, "slow", "succeeded", 0);
    expect(fate(failing, "cleanup")).toEqual({ t: "queue" });
    expect(fate(failing, "rollback")).toEqual({ t: "queue" });
    end(failing, "cleanup", "succeeded", 0);
    end(failing, "rollback", "succeeded", 0);
    expect(fate(failing, "ci")).toEqual({ t: "queue" });
    end(failing, "ci", "succeeded", 0);
    expect(failing.outcome("ci", 0)).toEqual({ succeeded: false, exitCode: 4, error: "task test failed: failed here" });

    // Nothing fails: the rollback is skipped as by a false condition, and what comes after it goes on.
    const passing = fresh();
    end(passing, "test", "succeeded", 0);
    end(passing, "slow", "succeeded", 0);
    const skip = fate(passing, "rollback");
    expect(skip).toEqual({ t: "skip", reason: "when: on_failure, and no upstream failed" });
    passing.setStatus(passing.latest("rollback")!, "skipped", (skip as { reason: string }).reason, Date.now());
    expect(fate(passing, "cleanup")).toEqual({ t: "queue" });
    end(passing, "cleanup", "succeeded", 0);
    expect(fate(passing, "ci")).toEqual({ t: "queue" });
    end(passing, "ci", "succeeded", 0);
    expect(passing.outcome("ci", 0)).toEqual({ succeeded: true, exitCode: 0, error: "" });
    // A daemon that starts again reads the rollback's skip as one its downstreams go on past.
    const again = new RunGraph([...tasks.values()], passing.runs);
    expect(again.outcome("ci", 0)).toEqual({ succeeded: true, exitCode: 0, error: "" });
    expect(again.upstreamsToRunAgain("ci")).toEqual([]);
  });
});
