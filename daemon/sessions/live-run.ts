import { resolve } from "node:path";
import { formatMs } from "../../common/format.js";
import { GroupProcess } from "../process/child-process.js";
import type { OutputWriter } from "../process/output-writer.js";
import type { Spawner } from "../process/spawner.js";
import type { LiveProcesses } from "../workspaces/live-processes.js";
import { resolveCwd } from "../workspaces/workspace-paths.js";
import { sandboxArgv, type SandboxHost } from "../workspaces/sandbox.js";
import type { Readiness } from "../tasks/types.js";
import { waitUntilReady } from "./readiness.js";
import type { RunTokens } from "./run-tokens.js";
import type { RunRecord, RunStatus, SessionWorkspace } from "./types.js";

/** Between SIGTERM and SIGKILL when a run is stopped (cancel, close, timeout, daemon stop). */
export const KILL_GRACE_MS = 5_000;

/** Why a run's readiness checks stop. Made once: abort() without a reason builds a DOMException, stack and all, for every run. */
const RUN_OVER = new Error("the run is over: its readiness checks stop");

/** What every run of a session shares, prepared by the daemon. */
export interface RunEnvironment {
  /** The daemon's environment with the directory of its `tether` command first on PATH and TETHER_SOCKET set. */
  readonly baseEnv: Readonly<Record<string, string | undefined>>;
  /** What a sandboxed run must see of the daemon. */
  readonly sandboxHost: SandboxHost;
  /** Where each run's process is registered with its workspace (for ws show and ws stop). */
  readonly live: LiveProcesses;
  /** Why nothing may start in a workspace now (removed since the session pinned it, its sandbox gone), or undefined. */
  readonly unusable: (workspaceId: string) => string | undefined;
  /** The tokens that let runs in bwrap workspaces write to their own session through the sandbox's socket. */
  readonly tokens: RunTokens;
  readonly spawner: Spawner;
}

export interface RunStart {
  readonly argv: readonly string[];
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdin: boolean;
  /** The workspace the run executes in: its task's own, else the session's (absent in sessions recorded before workspaces: the host). */
  readonly workspace: SessionWorkspace | undefined;
  /** The run's resource name, "sessions/{s}/runs/{n}", as the workspace lists it. */
  readonly name: string;
}

/**
 * One run's live process: started in its workspace (its sandbox
 * wrapping the command, registered as the workspace's live work), with the
 * timers that may end it and the way it is ended: SIGTERM to its process
 * group, SIGKILL after KILL_GRACE_MS.
 */
export class LiveRun {
  readonly process: GroupProcess;
  /** The pid once the process runs (then also on the run record), undefined when it could not start. */
  readonly started: Promise<number | undefined>;
  readonly readinessAbort = new AbortController();
  /** When set, the run is being stopped on purpose and ends with this status. */
  stopAs: { status: RunStatus; reason: string } | undefined;
  /** Why it failed when the daemon killed it (timeout, readiness). */
  killedFor: string | undefined;
  awaitingReadiness: boolean;
  /** Wraps a command to run where this run runs: in its workspace's sandbox (readiness probes use it). */
  readonly wrap: (argv: readonly string[]) => readonly string[];
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(
    readonly run: RunRecord,
    readonly writer: OutputWriter,
    private readonly start: RunStart,
    private readonly environment: RunEnvironment,
    awaitingReadiness: boolean,
  ) {
    const workspace = start.workspace;
    this.wrap = workspace === undefined ? (argv) => argv : (argv) => sandboxArgv(workspace, environment.sandboxHost, argv, start.cwd);
    this.process = new GroupProcess({
      argv: this.wrap(start.argv),
      cwd: start.cwd,
      env: start.env,
      stdin: start.stdin,
      onOutput: (fd, chunk) => writer.write(fd, chunk),
      outputOffset: () => writer.nextOffset(),
      spawner: environment.spawner,
    });
    this.awaitingReadiness = awaitingReadiness;
    run.pid = undefined;
    run.startTicks = undefined;
    this.started = this.process.started.then((startedAs) => {
      if (startedAs !== undefined) {
        run.pid = startedAs.pid;
        run.startTicks = startedAs.startTicks;
      }
      return startedAs?.pid;
    });
    if (start.workspace !== undefined) {
      environment.live.add(start.workspace.id, { kind: "run", name: start.name, signal: (s) => this.process.signal(s), ended: this.process.ended });
    }
  }

  /**
   * Runs the task's readiness checks where the run runs: once they pass while
   * the run is live, `onReady`; not ready in time, the run is killed.
   */
  watchReadiness(readiness: Readiness, onReady: () => void): void {
    const probe = { cwd: this.start.cwd, env: this.start.env, wrap: this.wrap, spawner: this.environment.spawner };
    void waitUntilReady(readiness, probe, this.readinessAbort.signal).then((ready) => {
      if (this.readinessAbort.signal.aborted || (this.run.status !== "running" && this.run.status !== "waiting")) return;
      this.awaitingReadiness = false;
      if (ready) onReady();
      else this.kill(`not ready after ${formatMs(readiness.timeoutMs)}`);
    });
  }

  /** Kills the run after `ms` for the reason `why` (a timeout). */
  killAfter(ms: number, why: string): void {
    this.timers.push(setTimeout(() => this.kill(why), ms));
  }

  /** Kills the run for a reason of its own (timeout, readiness): it fails, and may be retried. */
  kill(why: string): void {
    if (this.killedFor !== undefined || this.stopAs !== undefined) return;
    this.killedFor = why;
    this.signalWithGrace();
  }

  /** Stops the run on purpose; it ends as `as` says (the first stop's status wins). */
  stop(as: LiveRun["stopAs"]): void {
    this.stopAs ??= as;
    this.readinessAbort.abort(RUN_OVER);
    this.signalWithGrace();
  }

  /** Once the process has ended: no timer or readiness check may act on it any more. */
  ended(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.readinessAbort.abort(RUN_OVER);
  }

  private signalWithGrace(): void {
    this.process.signal("SIGTERM");
    const timer = setTimeout(() => this.process.signal("SIGKILL"), KILL_GRACE_MS);
    timer.unref();
    this.timers.push(timer);
  }
}

/**
 * A run's working directory: the task's `cwd` (relative to the workspace
 * root, which it must resolve inside, symlinks followed, as an exec's), or
 * the root; with the reason when it cannot be used.
 */
export function runCwd(root: string, taskCwd: string | undefined): { cwd: string; problem: string | undefined } {
  try {
    return { cwd: resolveCwd(root, taskCwd ?? ""), problem: undefined };
  } catch (error) {
    return { cwd: resolve(root, taskCwd ?? "."), problem: (error as Error).message };
  }
}
