import { Code } from "@connectrpc/connect";
import { TetherError } from "../errors.js";
import { formatMs } from "../../common/format.js";
import type { SessionStreams } from "./session-streams.js";
import type { StreamRecord } from "./stream-records.js";
import type { RunRecord, RunStatus } from "./types.js";
import { setLongTimeout } from "../long-timeout.js";

/** What a wait asks for. */
export interface WaitRequest {
  readonly run: number;
  readonly stream: string;
  readonly correlationId: string;
  /** 0: as long as the run lives. */
  readonly timeoutMs: number;
  /** Ends the wait without taking anything (the waiting client went away). */
  readonly signal: AbortSignal;
}

/** What a wait needs from its session: the run's state log, and the scheduler for a run that became ready meanwhile. */
export interface WaitHost {
  transition(run: RunRecord, status: RunStatus, reason: string, alongside?: () => void): Promise<unknown>;
  schedule(): void;
}

/** A run blocked in `tether wait`. */
interface RunWait {
  readonly run: RunRecord;
  readonly stream: string;
  readonly correlationId: string;
  /** The status the run goes back to when the wait ends. */
  resumeAs: "running" | "ready";
  readonly settle: (outcome: Outcome) => void;
  readonly cleanup: () => void;
}

type Outcome = { record: StreamRecord } | { error: Error };

/**
 * The blocking waits of one session's runs, oldest first: a new record goes
 * to the oldest matching wait. A wait's start and its outcome (taken, timed
 * out, abandoned) are transitions in the run's state log, and a taken record
 * is stored as taken in the same commit, before the waiter gets it.
 */
export class InputWaits {
  private readonly waits: RunWait[] = [];

  constructor(
    private readonly sessionId: string,
    private readonly streams: SessionStreams,
    private readonly host: WaitHost,
  ) {}

  /** What each waiting run waits for, by run number, for the session's activity. */
  describe(): Map<number, string> {
    return new Map(this.waits.map((w) => [w.run.number, describeWait(w.stream, w.correlationId)]));
  }

  /** The status a run blocked in a wait goes back to, if it is blocked. */
  resumeStatus(run: number): "running" | "ready" | undefined {
    return this.of(run)?.resumeAs;
  }

  /** A run became ready while blocked: it becomes ready when its wait ends. False when it is not blocked. */
  readyAfterWait(run: number): boolean {
    const wait = this.of(run);
    if (wait !== undefined) wait.resumeAs = "ready";
    return wait !== undefined;
  }

  /** Blocks `run` (live, running or ready) until it takes a matching record; see WaitForInputRequest for which. */
  begin(run: RunRecord, request: WaitRequest): Promise<StreamRecord> {
    const current = this.of(run.number);
    if (current !== undefined) {
      throw new TetherError(
        Code.FailedPrecondition,
        "ALREADY_WAITING",
        `run ${run.number} (${run.task}) is already waiting for ${current.stream}: a run has one blocking wait at a time; wait for the first to return`,
        { run: String(run.number), stream: current.stream },
      );
    }
    const what = describeWait(request.stream, request.correlationId);
    return new Promise<StreamRecord>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const onAbort = (): void => this.end(wait, { error: request.signal.reason as Error }, `stopped waiting for ${what}: the waiting client went away`);
      const wait: RunWait = {
        run,
        stream: request.stream,
        correlationId: request.correlationId,
        resumeAs: run.status === "ready" ? "ready" : "running",
        settle: (outcome) => ("record" in outcome ? resolve(outcome.record) : reject(outcome.error)),
        cleanup: () => {
          clearTimeout(timer);
          request.signal.removeEventListener("abort", onAbort);
        },
      };
      this.waits.push(wait);
      void this.host.transition(run, "waiting", `waiting for ${what}`);
      if (request.timeoutMs > 0) {
        timer = setLongTimeout(() => {
          const error = new TetherError(
            Code.DeadlineExceeded,
            "WAIT_TIMED_OUT",
            `no ${what} arrived within ${formatMs(request.timeoutMs)}: send one with tether send ${this.sessionId} ${request.stream} DATA${request.correlationId === "" ? "" : ` --correlation ${request.correlationId}`}, or wait longer with --timeout`,
            { stream: request.stream },
          );
          this.end(wait, { error }, `wait for ${what} timed out after ${formatMs(request.timeoutMs)}`);
        }, request.timeoutMs);
      }
      request.signal.addEventListener("abort", onAbort, { once: true });
      if (request.signal.aborted) onAbort();
      else this.serve(request.stream);
    });
  }

  /** Hands untaken records of `stream` to the oldest matching waits. */
  serve(stream: string): void {
    for (const wait of [...this.waits]) {
      if (wait.stream !== stream || !this.waits.includes(wait)) continue;
      const record = this.streams.findUntaken(stream, wait.correlationId);
      if (record === undefined) continue;
      this.end(wait, { record }, `took ${stream} record ${record.seq}`, this.streams.take(stream, record.seq, wait.run.number));
    }
  }

  /** The run's process ended: its wait (if any) fails, with no transition of its own. */
  runEnded(run: RunRecord, how: string): void {
    const wait = this.of(run.number);
    if (wait !== undefined) this.end(wait, { error: runEnded(run, how) }, undefined);
  }

  /** Every wait fails with `error` (the session ends, the daemon stops); the runs are being stopped anyway. */
  failAll(error: Error): void {
    for (const wait of [...this.waits]) this.end(wait, { error }, undefined);
  }

  private of(run: number): RunWait | undefined {
    return this.waits.find((w) => w.run.number === run);
  }

  /**
   * Ends a wait: the run goes back to its status before the wait with
   * `reason` in its state log (none when the run or session is ending
   * anyway), and the waiter gets its outcome once that is durable.
   */
  private end(wait: RunWait, outcome: Outcome, reason: string | undefined, take?: { store: () => void; undo: () => void }): void {
    const index = this.waits.indexOf(wait);
    if (index < 0) return;
    this.waits.splice(index, 1);
    wait.cleanup();
    const run = wait.run;
    if (reason === undefined || run.status !== "waiting") {
      take?.undo();
      wait.settle("record" in outcome ? { error: runEnded(run, run.status) } : outcome);
      return;
    }
    this.host.transition(run, wait.resumeAs, reason, take?.store).then(
      () => wait.settle(outcome),
      (error: unknown) => {
        take?.undo();
        wait.settle({ error: error as Error });
      },
    );
    if (wait.resumeAs === "ready") this.host.schedule();
  }
}

function describeWait(stream: string, correlationId: string): string {
  return correlationId === "" ? `input on ${stream}` : `input on ${stream} with correlation ${correlationId}`;
}

function runEnded(run: RunRecord, how: string): TetherError {
  return new TetherError(Code.FailedPrecondition, "RUN_NOT_LIVE", `the wait ended: run ${run.number} (${run.task}) ${how}`, { run: String(run.number), status: run.status });
}
