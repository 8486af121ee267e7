import type { Durability } from "../journal/types.js";
import { log } from "../log.js";
import { encodeEvent, eventsJournal, type SessionEventData } from "./session-journal.js";
import type { SessionLifetime } from "./session-lifetime.js";
import type { SessionOrder } from "./session-order.js";
import { SessionReports } from "./session-reports.js";
import type { SessionRecord } from "./types.js";
import type { Events } from "../events.js";
import { StoreAgain } from "./store-again.js";

/** A session's whole state as it is now: the event saying why it is stored again, and the rows to write with it. */
export type WholeState = () => { readonly event: SessionEventData; readonly alongside: () => void };

/**
 * How a live session's changes reach the store: each is an event in the
 * session's events journal, committed in one transaction with the rows it
 * changed (`alongside`), then said to the daemon's events (SessionReports).
 * A change that could not be stored has the whole state stored again
 * (StoreAgain), and the session retires only once the store holds it
 * (SessionLifetime).
 */
export class SessionRecorder {
  private readonly storeAgain: StoreAgain;
  private readonly sessionId: string;
  /** Says each change committed to the daemon's events. */
  private readonly reports: SessionReports;

  constructor(
    session: SessionRecord,
    private readonly order: SessionOrder,
    private readonly lifetime: SessionLifetime,
    /** The daemon's events; `fresh`: a session this daemon started (see SessionReports). */
    reporting: { readonly events: Events; readonly fresh: boolean },
    wholeState: WholeState,
  ) {
    this.sessionId = session.id;
    this.reports = new SessionReports(session, reporting.events, reporting.fresh);
    this.storeAgain = new StoreAgain(
      () => {
        const { event, alongside } = wholeState();
        return this.order.append(eventsJournal(session.id), [{ data: encodeEvent(event) }], { alongside, durability: "power-loss" });
      },
      (message) => log(`session ${session.id}: ${message}`),
    );
  }

  /** Commits `event` with the rows `alongside` writes; resolves once committed as `durability` says. */
  record(event: SessionEventData, alongside: () => void, durability: Durability = "power-loss"): Promise<unknown> {
    const committed = this.order.append(eventsJournal(this.sessionId), [{ data: encodeEvent(event) }], { alongside, durability });
    this.reports.report(event, committed);
    const stored = committed.catch((error: unknown) => {
      log(`session ${this.sessionId}: a state change was not stored: ${(error as Error).message}`);
      return this.storeAgain.after(error);
    });
    // Quiet once settled; retired (its reads go to the store) only once the store holds its state.
    const pending = this.storeAgain.pending;
    this.lifetime.committing(committed, pending === undefined ? stored : Promise.all([stored, pending]));
    return committed;
  }
}
