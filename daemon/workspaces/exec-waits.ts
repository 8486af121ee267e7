import { Code } from "@connectrpc/connect";
import { formatMs } from "../../common/format.js";
import { TetherError } from "../errors.js";
import { untilAborted } from "../until-aborted.js";
import { withTimeout } from "../wait-timeout.js";
import { untilExecReady } from "./exec-readiness.js";
import type { ExecRecord } from "./types.js";

/** What a wait for an exec reads of Execs. */
export interface ExecWaitSources {
  find(ref: string): ExecRecord;
  /** The exec as it is now: live, else as stored. */
  current(exec: ExecRecord): ExecRecord;
  /** Its start while it waits in its queue, else undefined. */
  queuedStart(id: string): Promise<unknown> | undefined;
  /** Its end and its readiness checks while it runs, else undefined. */
  live(id: string): { readonly ended: Promise<unknown>; readonly readiness: Promise<void> | undefined } | undefined;
  /** The exec that goes on with ended exec `exec`'s command (its restart line), once one does; undefined when none will. */
  successor(exec: ExecRecord): Promise<ExecRecord | undefined>;
}

/** A wait's options: the caller's signal, and how long it may wait (0: no limit). */
interface WaitOptions {
  readonly signal: AbortSignal;
  readonly timeoutMs: number;
}

/** Waits for an exec (WaitExec): its end for good, as docker wait, or its readiness, as docker compose up --wait. */
export class ExecWaits {
  constructor(private readonly sources: ExecWaitSources) {}

  /**
   * Resolves once exec `ref` has ended for good (docker wait): when its
   * restart policy or an exec restart starts its command again, once the
   * new exec has too, and so on; with the exec that ended last. Rejects
   * with the signal's reason when it aborts first, and with WAIT_TIMED_OUT
   * after `timeoutMs` (0: no limit).
   */
  async end(ref: string, options: WaitOptions): Promise<ExecRecord> {
    const { sources } = this;
    let exec = sources.find(ref);
    const { signal, clear } = withTimeout(options.signal, options.timeoutMs, () => {
      const how = `tether exec kill ${exec.name ?? exec.id} stops it; --timeout waits longer`;
      return new TetherError(Code.DeadlineExceeded, "WAIT_TIMED_OUT", `exec ${exec.id} had not ended within ${formatMs(options.timeoutMs)}: ${how}`, { exec: exec.id });
    });
    try {
      for (;;) {
        const queued = sources.queuedStart(exec.id);
        if (queued !== undefined) await untilAborted(queued, signal);
        const live = sources.live(exec.id);
        if (live !== undefined) await untilAborted(live.ended, signal);
        const successor = await untilAborted(sources.successor(exec), signal);
        if (successor === undefined) return sources.current(exec);
        exec = successor;
      }
    } finally {
      clear();
    }
  }

  /** Resolves once exec `ref` is ready (untilExecReady); rejects with WAIT_TIMED_OUT after `timeoutMs` (0: no limit). */
  async ready(ref: string, options: WaitOptions): Promise<ExecRecord> {
    const { sources } = this;
    const exec = sources.find(ref);
    const { signal, clear } = withTimeout(options.signal, options.timeoutMs, () => {
      return new TetherError(Code.DeadlineExceeded, "WAIT_TIMED_OUT", `exec ${exec.id} was not ready within ${formatMs(options.timeoutMs)}: --timeout waits longer`, { exec: exec.id });
    });
    try {
      const waits = { queued: sources.queuedStart(exec.id), checks: () => sources.live(exec.id)?.readiness };
      return await untilExecReady(exec, waits, () => sources.current(exec), signal);
    } finally {
      clear();
    }
  }
}
