import type { LiveProcesses } from "./live-processes.js";
import type { ExecRecord } from "./types.js";

/** When tether starts an exec's command again after it ended by itself (docker run --restart). */
export interface RestartPolicy {
  readonly mode: "on-failure" | "always";
  /** With on-failure: at most this many restarts; 0: no limit. */
  readonly maxRestarts: number;
}

/** The first delay before a restart, doubled while the command keeps ending soon after its start, up to the last. */
const FIRST_DELAY_MS = 100;
const LAST_DELAY_MS = 60_000;
/** A command that ran this long before it ended is restarted after the first delay again, as docker resets its back-off. */
const RAN_WELL_MS = 10_000;

/** How an exec ended, as its restart policy weighs it. */
export interface ExecEnding {
  readonly exec: ExecRecord;
  readonly policy: RestartPolicy | undefined;
  /** Restarts of its line before it. */
  readonly restarts: number;
  /** The delay before it started (0 for the first of its line). */
  readonly delayMs: number;
  /** A client signalled it (exec kill, Ctrl-C), or tether stopped it (ws stop, exec restart): its end was asked for. */
  readonly stoppedOnPurpose: boolean;
}

/**
 * The delay after which `ending`'s command is started again, or undefined
 * when it is not: never after an end asked for, nor after a command that
 * could not start (it would fail again at once, forever); on-failure only
 * after a code other than 0 or a signal, up to its limit.
 */
export function restartDelay(ending: ExecEnding): number | undefined {
  const { exec, policy } = ending;
  if (policy === undefined || ending.stoppedOnPurpose || exec.status === "failed-to-start" || exec.status === "lost") return undefined;
  if (policy.mode === "on-failure") {
    if (exec.status === "exited" && exec.exitCode === 0) return undefined;
    if (policy.maxRestarts > 0 && ending.restarts >= policy.maxRestarts) return undefined;
  }
  const ran = (exec.endedAt ?? Date.now()) - exec.createdAt;
  return ran >= RAN_WELL_MS || ending.delayMs === 0 ? FIRST_DELAY_MS : Math.min(ending.delayMs * 2, LAST_DELAY_MS);
}

/**
 * The restarts waiting out their delay, by the id of the exec that ended.
 * Each counts as a live exec of its workspace while it waits (docker's
 * "restarting"): ws stop and ws rm cancel it as they stop a process, and
 * exec kill or exec rm of the ended exec cancels it too.
 */
export class PendingRestarts {
  private readonly pending = new Map<string, { timer: NodeJS.Timeout; end: (cancelled: boolean) => void; at: number }>();

  constructor(private readonly live: LiveProcesses) {}

  /**
   * Starts `start` after `delayMs`, unless cancelled first (`cancelled` is
   * told then); the daemon's stop (`dropAll`) leaves the restart owed, and
   * neither runs.
   */
  schedule(execId: string, workspaceId: string, delayMs: number, start: () => void, cancelled: () => void): void {
    let settle!: () => void;
    const waited = new Promise<void>((resolve) => (settle = resolve));
    const end = (cancel: boolean): void => {
      clearTimeout(timer);
      this.pending.delete(execId);
      if (cancel) cancelled();
      settle();
    };
    const timer = setTimeout(() => {
      this.pending.delete(execId);
      // Started before this entry leaves: the workspace never looks stopped in between.
      try {
        start();
      } finally {
        settle();
      }
    }, delayMs);
    this.pending.set(execId, { timer, end, at: Date.now() + delayMs });
    const signal = (): boolean => {
      end(true);
      return true;
    };
    this.live.add(workspaceId, { kind: "exec", signal, stopping: () => end(true), ended: waited });
  }

  /** When exec `execId`'s restart starts, while it waits. */
  at(execId: string): number | undefined {
    return this.pending.get(execId)?.at;
  }

  /** Cancels exec `execId`'s restart; false when none waits. */
  cancel(execId: string): boolean {
    const entry = this.pending.get(execId);
    entry?.end(true);
    return entry !== undefined;
  }

  /** At daemon stop: no restart starts here, and each stays owed (the next daemon starts it). */
  dropAll(): void {
    for (const { end } of [...this.pending.values()]) end(false);
  }
}
