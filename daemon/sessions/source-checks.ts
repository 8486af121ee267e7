import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import { glob } from "tinyglobby";
import type { TaskDef } from "../tasks/types.js";
import type { RunEnvironment } from "./live-run.js";
import { runPlace } from "./run-start.js";
import type { RunRecord, SessionSpec } from "./types.js";

/**
 * What a check of a run's sources found: up to date (the reason its run
 * says), stale (it runs), or not known yet (undefined: the check is under
 * way).
 */
export type SourcesVerdict = { readonly upToDate: string } | "stale" | undefined;

/**
 * Whether each run of a task with `sources:` and `generates:` is up to date,
 * as make decides a target is: each `generates` glob matches a file, and
 * none of the files its `sources` match is newer than the oldest of those
 * (no source matched: stale). Checked once per run, as it is due to queue
 * (its upstreams done: what they make is there), off the daemon's thread of
 * work: `settled` is called with the run once its check has its verdict,
 * for the scheduler to ask again. A file that cannot be read makes the run stale:
 * it runs, and says why it fails if it does. A session started with
 * --force (SessionSpec.force) has every run stale.
 */
export class SourceChecks {
  private readonly verdicts = new WeakMap<RunRecord, SourcesVerdict | "checking">();

  constructor(
    private readonly spec: SessionSpec,
    private readonly unusable: RunEnvironment["unusable"],
    private readonly settled: (run: RunRecord) => void,
  ) {}

  /** The verdict on `run` of `task`; the first ask starts the check (in the run's cwd, runPlace). */
  readonly verdict = (run: RunRecord, task: TaskDef): SourcesVerdict => {
    if (task.sources === undefined || this.spec.force === true) return "stale";
    const known = this.verdicts.get(run);
    if (known !== undefined) return known === "checking" ? undefined : known;
    this.verdicts.set(run, "checking");
    const { cwd } = runPlace(this.spec, task, this.unusable);
    void upToDate(cwd, task.sources, task.generates ?? []).then(
      (reason) => this.verdicts.set(run, reason === undefined ? "stale" : { upToDate: reason }),
      () => this.verdicts.set(run, "stale"),
    ).finally(() => this.settled(run));
    return undefined;
  };
}

/** Why the files `generates` match are up to date with those `sources` match, from `cwd`; undefined when they are not. */
async function upToDate(cwd: string, sources: readonly string[], generates: readonly string[]): Promise<string | undefined> {
  const made = await Promise.all(generates.map((pattern) => glob(pattern, { cwd, dot: true })));
  if (made.some((files) => files.length === 0)) return undefined;
  const from = await glob([...sources], { cwd, dot: true });
  if (from.length === 0) return undefined;
  const madeFiles = [...new Set(made.flat())];
  // A reduce, not Math.min(...): a tree of files is more arguments than a call takes.
  const oldestMade = (await mtimes(cwd, madeFiles)).reduce((a, b) => Math.min(a, b), Infinity);
  const newestSource = (await mtimes(cwd, from)).reduce((a, b) => Math.max(a, b), -Infinity);
  if (newestSource > oldestMade) return undefined;
  return `up to date: its ${from.length} source file(s) are no newer than the ${madeFiles.length} file(s) it generates, as make decides (run --force runs it)`;
}

async function mtimes(cwd: string, files: readonly string[]): Promise<number[]> {
  return Promise.all(files.map(async (file) => (await stat(resolve(cwd, file))).mtimeMs));
}
