import { formatMs } from "../../common/format.js";
import type { Events } from "../events.js";
import { GroupProcess, signalGroup } from "../process/child-process.js";
import { MaskedOutput } from "./masked-output.js";
import { processState } from "../process/process-identity.js";
import type { OutputWriter } from "../process/output-writer.js";
import type { SecretMask } from "./secret-mask.js";
import type { Spawner } from "../process/spawner.js";
import type { Queues } from "../queues.js";
import type { LiveProcesses } from "../workspaces/live-processes.js";
import { sandboxArgv, type SandboxHost } from "../workspaces/sandbox.js";
import { RUN_TOKEN_ENV } from "../../common/run-token.js";
import type { Readiness } from "../tasks/types.js";
import { waitUntilReady } from "../process/readiness.js";
import { watchHealth } from "../process/health-watch.js";
import type { RunTokens } from "./run-tokens.js";
import type { RunRecord, RunStatus, SessionWorkspace } from "./types.js";
import { setLongTimeout } from "../long-timeout.js";
import { KILL_GRACE_MS } from "../process/signals.js";

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
  /** The variables every process started in a workspace gets, as its runs start (ws create --env). */
  readonly workspaceEnv: (workspaceId: string) => Readonly<Record<string, string>>;
  /** The tokens that let runs in bwrap workspaces write to their own session through the sandbox's socket. */
  readonly tokens: RunTokens;
  readonly spawner: Spawner;
  /** The queues a task's `queue:` names (shared with execs). */
  readonly queues: Queues;
  /** Where sessions' and runs' changes are reported (EventService). */
  readonly events: Events;
}

export interface RunStart {
  readonly argv: readonly string[];
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdin: boolean;
  /** The workspace the run executes in: its task's own, else the session's (absent in sessions recorded before workspaces: the host). */
  readonly workspace: SessionWorkspace | undefined;
  /** Its session's id: for its resource name and, in a sandbox, its token. */
  readonly sessionId: string;
  /** Masks the session's secret input values in the run's output; absent when it has none to mask. */
  readonly mask: SecretMask | undefined;
}

/**
 * One run's live process: started in its workspace (its sandbox
 * wrapping the command, registered as the workspace's live work), with the
 * timers that may end it and the way it is ended: SIGTERM to its process
 * group, SIGKILL after KILL_GRACE_MS.
 *
 * A run is its process group: when its process exits, what it left running
 * in the group (`server &` in a shell command) is stopped the same way, as
 * a CI runner stops a job's orphans and as a bwrap sandbox's processes end
 * with its command. Left running, such a process had nobody reading its
 * output (the pipes are read for PIPE_DRAIN_MS after the exit), no place in
 * `ws show` or `ws stop`, and died at its next write. A process meant to
 * outlive its run belongs in a task with readiness checks (a service), or
 * must leave the group itself (setsid).
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
  /** The run's environment: the start's, and its token in a sandbox (readiness probes get it too). */
  private readonly env: Readonly<Record<string, string | undefined>>;
  private readonly timers: NodeJS.Timeout[] = [];
  /** The task's timeout, among the timers. */
  private deadline: NodeJS.Timeout | undefined;

  constructor(
    readonly run: RunRecord,
    readonly writer: OutputWriter,
    private readonly start: RunStart,
    private readonly environment: RunEnvironment,
    awaitingReadiness: boolean,
  ) {
    const workspace = start.workspace;
    this.wrap = workspace === undefined ? (argv) => argv : (argv) => sandboxArgv(workspace, environment.sandboxHost, argv, start.cwd);
    // In a sandbox, the run's tether calls reach a socket that lets them write to its session only with this run's token.
    const token = workspace?.sandbox === "bwrap" ? environment.tokens.grant(start.sessionId) : undefined;
    this.env = token === undefined ? start.env : { ...start.env, [RUN_TOKEN_ENV]: token };
    const masked = start.mask === undefined ? undefined : new MaskedOutput(start.mask, writer);
    this.process = new GroupProcess({
      argv: this.wrap(start.argv),
      cwd: start.cwd,
      env: this.env,
      stdin: start.stdin,
      onOutput: masked === undefined ? (fd, chunk) => writer.write(fd, chunk) : (fd, chunk) => masked.write(fd, chunk),
      onOutputEnd: (fd) => masked?.end(fd),
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
    void this.process.exited.then(() => this.stopLeftovers());
    if (token !== undefined) void this.process.ended.finally(() => environment.tokens.revoke(token));
    if (workspace !== undefined) {
      const name = `sessions/${start.sessionId}/runs/${run.number}`;
      environment.live.add(workspace.id, {
        kind: "run",
        name,
        signal: (s) => this.process.signal(s),
        // Stopped with its workspace: on purpose, so cancelled, and no retry starts it again there.
        stopping: (reason) => {
          this.stopAs ??= { status: "cancelled", reason };
          this.readinessAbort.abort(RUN_OVER);
        },
        ended: this.process.ended,
      });
    }
  }

  /**
   * Runs the task's readiness checks where the run runs: once they pass while
   * the run is live, `onReady`; not ready in time, the run is killed. Once
   * ready, they go on every health interval while it lives (watchHealth):
   * `onHealth` hears its health after every round: unhealthy (why) or healthy (undefined).
   */
  watchReadiness(readiness: Readiness, onReady: () => void, onHealth: (unhealthy: string | undefined) => void): void {
    const probe = { cwd: this.start.cwd, env: this.env, wrap: this.wrap, spawner: this.environment.spawner, ownNetwork: this.start.workspace?.noNetwork === true };
    void waitUntilReady(readiness, probe, this.readinessAbort.signal).then((notReady) => {
      if (this.readinessAbort.signal.aborted || (this.run.status !== "running" && this.run.status !== "waiting")) return;
      this.awaitingReadiness = false;
      if (notReady !== undefined) {
        this.kill(`not ready after ${formatMs(readiness.timeoutMs)}${notReady.why === "" ? "" : `: ${notReady.why}`}`);
        return;
      }
      // A ready service runs until its session ends: the task's timeout bounded the time until now.
      clearTimeout(this.deadline);
      onReady();
      void watchHealth(readiness, probe, this.readinessAbort.signal, (unhealthy) => onHealth(unhealthy === undefined ? undefined : this.hide(unhealthy)));
    });
  }

  /** Kills the run after `ms` for the reason `why` (the task's timeout), unless it becomes a ready service first. */
  killAfter(ms: number, why: string): void {
    this.deadline = setLongTimeout(() => this.kill(why), ms);
    this.timers.push(this.deadline);
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

  /**
   * SIGTERM to what is left of the run's process group once its process has
   * exited (and been reaped), SIGKILL after KILL_GRACE_MS (see LiveRun). The
   * kernel keeps a group's number from any new process while the group has
   * members; once they are gone it may give it to one (this machine kind
   * wraps at 32,768 pids) that leads a group of its own, another run's say.
   * So a process with the number is a newcomer, and its group is left alone.
   */
  private stopLeftovers(): void {
    const group = this.run.pid;
    const signalLeftovers = (signal: NodeJS.Signals): boolean => group !== undefined && processState(group) === undefined && signalGroup(group, signal);
    if (!signalLeftovers("SIGTERM")) return;
    setTimeout(() => signalLeftovers("SIGKILL"), KILL_GRACE_MS).unref();
  }

  private signalWithGrace(): void {
    this.process.signal("SIGTERM");
    const timer = setTimeout(() => this.process.signal("SIGKILL"), KILL_GRACE_MS);
    timer.unref();
    this.timers.push(timer);
  }

  /** `text` with the session's secret values starred: tether's own words about the run, which may hold what its command line did. */
  hide(text: string): string {
    return this.start.mask?.hideIn(text) ?? text;
  }
}
