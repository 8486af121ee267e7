import type { EventData, Events } from "../events.js";
import type { SessionEventData } from "./session-journal.js";
import type { Activity, SessionRecord, SessionStatus } from "./types.js";

/**
 * What a live session's changes say to the daemon's events (EventService),
 * each once its change is committed: its start (a session new to this
 * daemon), each run's transition, its activity as it changes while open,
 * and its end with its exit code. A session a daemon takes up at its start
 * reports from its next change on.
 */
export class SessionReports {
  private reported: { readonly status: SessionStatus; readonly activity: Activity } | undefined;

  constructor(
    private readonly session: SessionRecord,
    private readonly events: Events,
    /** Started by this daemon, not taken up at its start. */
    fresh: boolean,
  ) {
    if (!fresh) this.reported = { status: session.status, activity: "idle" };
  }

  /** Reports what `change` changed once `committed` resolves (not when it fails: the store does not hold it). */
  report(change: SessionEventData, committed: Promise<unknown>): void {
    const { status, activity, run, reason } = change;
    const { id, task, exitCode } = this.session;
    const reports: EventData[] = [];
    const say = (action: string, attributes: Record<string, string>): number => reports.push({ type: "session", action, id, attributes, labels: this.session.labels });
    if (this.reported === undefined) {
      say("start", { task, status, activity });
    } else {
      if (run !== undefined) {
        const ended = run.exitCode === undefined ? {} : { exit_code: String(run.exitCode) };
        say("run", { task: run.task, run: String(run.number), attempt: String(run.attempt), status: run.status, ...ended, ...(run.reason === "" ? {} : { reason: run.reason }) });
      }
      if (status === "open" && activity !== this.reported.activity) say("activity", { task, activity });
      if (status !== this.reported.status) say("end", { task, status, reason, ...(exitCode === undefined ? {} : { exit_code: String(exitCode) }) });
    }
    this.reported = { status, activity };
    if (reports.length === 0) return;
    void committed.then(
      () => {
        for (const data of reports) this.events.publish(data);
      },
      () => undefined,
    );
  }
}
