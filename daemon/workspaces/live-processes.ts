import type { LiveCounts, Materialization } from "./types.js";
import { setLongTimeout } from "../long-timeout.js";

export type LiveKind = "exec" | "pty" | "run";

/** A process started in a workspace, as the workspace sees it. */
export interface LiveProcess {
  readonly kind: LiveKind;
  /** A session run's resource name, "sessions/{s}/runs/{n}". */
  readonly name?: string;
  /** Signals the process group; false when it is already gone. */
  signal(signal: NodeJS.Signals): boolean;
  /** Told before a stop's signals why it is stopped: a session run then ends cancelled, not failed (no retry starts it again). */
  readonly stopping?: (reason: string) => void;
  /** Settles once the process has ended and its output is stored. */
  readonly ended: Promise<unknown>;
}

/**
 * Every live process by workspace: what a workspace's materialization is
 * derived from, and what `ws stop` terminates. Processes leave on their own
 * when they end.
 */
export class LiveProcesses {
  private readonly byWorkspace = new Map<string, Set<LiveProcess>>();
  private readonly stopping = new Map<string, number>();

  add(workspaceId: string, process: LiveProcess): void {
    let set = this.byWorkspace.get(workspaceId);
    if (set === undefined) this.byWorkspace.set(workspaceId, (set = new Set()));
    set.add(process);
    void process.ended.finally(() => {
      set.delete(process);
      if (set.size === 0 && this.byWorkspace.get(workspaceId) === set) this.byWorkspace.delete(workspaceId);
    });
  }

  counts(workspaceId: string): LiveCounts {
    const counts = { execs: 0, ptys: 0, runs: 0, runNames: [] as string[] };
    for (const p of this.byWorkspace.get(workspaceId) ?? []) {
      counts[`${p.kind}s`]++;
      if (p.name !== undefined) counts.runNames.push(p.name);
    }
    return counts;
  }

  /** Live processes of every workspace, by kind. */
  totals(): { execs: number; ptys: number; runs: number } {
    const totals = { execs: 0, ptys: 0, runs: 0 };
    for (const set of this.byWorkspace.values()) for (const p of set) totals[`${p.kind}s`]++;
    return totals;
  }

  materialization(workspaceId: string): Materialization {
    if (this.stopping.has(workspaceId)) return "stopping";
    return (this.byWorkspace.get(workspaceId)?.size ?? 0) > 0 ? "live" : "stopped";
  }

  /**
   * Terminates every live process of a workspace for `reason`: SIGTERM to
   * each process group, SIGKILL to what is left after the grace period.
   * Resolves with how many there were once all have ended.
   */
  async stop(workspaceId: string, graceMs: number, reason: string): Promise<number> {
    const processes = [...(this.byWorkspace.get(workspaceId) ?? [])];
    if (processes.length === 0) return 0;
    this.stopping.set(workspaceId, (this.stopping.get(workspaceId) ?? 0) + 1);
    try {
      for (const p of processes) p.stopping?.(reason);
      for (const p of processes) p.signal("SIGTERM");
      const all = Promise.allSettled(processes.map((p) => p.ended));
      let timer: NodeJS.Timeout | undefined;
      const graceOver = new Promise<"grace">((resolve) => (timer = setLongTimeout(() => resolve("grace"), graceMs)));
      if ((await Promise.race([all, graceOver])) === "grace") {
        for (const p of processes) p.signal("SIGKILL");
        await all;
      }
      clearTimeout(timer);
      return processes.length;
    } finally {
      const left = (this.stopping.get(workspaceId) ?? 1) - 1;
      if (left === 0) this.stopping.delete(workspaceId);
      else this.stopping.set(workspaceId, left);
    }
  }
}
