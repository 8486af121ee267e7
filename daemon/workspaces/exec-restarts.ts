import { log } from "../log.js";
import type { ExecStartOptions } from "./execs.js";
import type { ExecTables, StoredExec } from "./exec-tables.js";
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

/** What restarts need of the execs: where the workspace counts them, the store, and how one starts and goes. */
export interface RestartDeps {
  readonly live: LiveProcesses;
  readonly tables: ExecTables;
  readonly start: (options: ExecStartOptions) => { readonly record: ExecRecord };
  readonly remove: (id: string) => Promise<unknown>;
}

/**
 * The ended execs a restart line keeps (its newest), each with its output:
 * a command that crashes in a loop for days leaves these, not one exec a
 * minute, as docker keeps one container however often it restarts.
 */
export const LINE_KEEPS_ENDED = 10;

/**
 * The restarts execs' policies owe, by the id of the exec that ended. Each
 * is marked in the store while it waits (a daemon that stops or crashes
 * first leaves it to the next, as a session's waiting retry), and counts as
 * a live exec of its workspace (docker's "restarting"): ws stop and ws rm
 * cancel it as they stop a process, as exec kill or exec rm of the ended
 * exec does.
 */
export class ExecRestarts {
  private readonly pending = new Map<string, { timer: NodeJS.Timeout; end: (cancelled: boolean) => void; at: number; started: Promise<ExecRecord | undefined> }>();

  constructor(private readonly deps: RestartDeps) {}

  /** After `ended` ended by itself: its policy's restart, `options` after their delay. */
  owe(ended: ExecRecord, options: ExecStartOptions): void {
    const { tables } = this.deps;
    tables.markResume(ended.seq);
    const settled = (): void => tables.clearResume(ended.seq);
    let finish!: (next: ExecRecord | undefined) => void;
    const started = new Promise<ExecRecord | undefined>((resolve) => (finish = resolve));
    const end = (cancelled: boolean): void => {
      clearTimeout(timer);
      this.pending.delete(ended.id);
      if (cancelled) settled();
      finish(undefined);
    };
    const timer = setTimeout(() => {
      this.pending.delete(ended.id);
      settled();
      // Started before this entry leaves: the workspace never looks stopped in between.
      let next: ExecRecord | undefined;
      try {
        // With the name it has now (exec rename while it waited).
        const now = tables.byId(ended.id);
        next = this.startAgain(ended, { ...options, name: now === undefined ? options.name : (now.name ?? "") });
      } finally {
        finish(next);
      }
    }, options.delayMs ?? 0);
    this.pending.set(ended.id, { timer, end, at: Date.now() + (options.delayMs ?? 0), started });
    const signal = (): boolean => {
      end(true);
      return true;
    };
    this.deps.live.add(options.workspace, { kind: "exec", signal, stopping: () => end(true), ended: started });
  }

  /**
   * At daemon start, as docker starts its `always` containers: the execs
   * `left` running by a daemon that crashed whose policy is always, and those
   * the last daemon marked (owed restarts, and `always` ones it stopped),
   * start again as new execs.
   */
  resume(left: readonly StoredExec[]): void {
    const { tables } = this.deps;
    const again = new Map([...left.filter((row) => row.restartPolicy?.mode === "always"), ...tables.toResume()].map((row) => [row.seq, row]));
    for (const row of again.values()) {
      tables.clearResume(row.seq);
      const spec = tables.restartSpec(row.seq);
      if (spec !== undefined) this.startAgain(row, { ...spec, workspace: row.workspaceId, argv: row.argv, name: row.name ?? "", labels: row.labels, restarts: row.restarts + 1, delayMs: 0, line: spec.line ?? row.id });
    }
  }

  /** At daemon stop: none starts here; the owed stay owed, and the `running` execs whose policy is always are owed too. */
  stop(running: readonly ExecRecord[]): void {
    for (const { end } of [...this.pending.values()]) end(false);
    for (const exec of running) if (exec.restartPolicy?.mode === "always") this.deps.tables.markResume(exec.seq);
  }

  /** When exec `execId`'s restart starts, while it waits. */
  at(execId: string): number | undefined {
    return this.pending.get(execId)?.at;
  }

  /** The exec that exec `execId`'s restart starts (undefined: none, it was cancelled or could not start), while one waits. */
  next(execId: string): Promise<ExecRecord | undefined> | undefined {
    return this.pending.get(execId)?.started;
  }

  /** Cancels exec `execId`'s restart; false when none waits. */
  cancel(execId: string): boolean {
    const entry = this.pending.get(execId);
    entry?.end(true);
    return entry !== undefined;
  }

  /**
   * Starts an ended exec's command again; one that cannot start now (its
   * workspace gone, its name taken) ends its line. Its line's ended execs
   * past the newest LINE_KEEPS_ENDED go, with their output (prune). Returns
   * the new exec.
   */
  private startAgain(ended: ExecRecord, options: ExecStartOptions): ExecRecord | undefined {
    try {
      return this.deps.start(options).record;
    } catch (error) {
      log(`exec ${ended.id}: not restarted by its policy: ${(error as Error).message}`);
      return undefined;
    } finally {
      this.prune(options.line ?? ended.id);
    }
  }

  /** Removes the ended execs of restart line `line` (its first exec's id) past its newest LINE_KEEPS_ENDED, with their output. */
  prune(line: string): void {
    for (const id of this.deps.tables.endedOfLine(line, LINE_KEEPS_ENDED)) {
      this.deps.remove(id).catch((error: unknown) => log(`exec ${id}: an old exec of restart line ${line}, not removed: ${(error as Error).message}`));
    }
  }
}
