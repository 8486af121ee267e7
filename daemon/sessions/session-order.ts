import type { Journals } from "../journal/journals.js";
import type { AppendInput, AppendOptions, AppendResult, Durability, JournalRecord } from "../journal/types.js";
import { Waiters } from "./waiters.js";

/** The metadata key holding a record's session-wide position. */
const POSITION_KEY = "p";

/**
 * One order over everything a session records, across its journals (events,
 * output, streams): every record gets a position, assigned when it is
 * submitted. The journals commit in submission order, so at every turn of
 * the event loop the store holds a prefix of the positions (with gaps only
 * where a commit failed), and a reader that merges the journals by position
 * sees one order, the same for every reader, with no seam between backlog
 * and live.
 */
export class SessionOrder {
  private next: number;
  /** Woken after every commit (or failed commit) of this session's records. */
  readonly commits = new Waiters();

  constructor(
    private readonly journals: Journals,
    /** The position the first record appended now gets. */
    start: number,
  ) {
    this.next = start;
  }

  /** The position the next record will get: everything before it is committed or in flight. */
  get nextPosition(): number {
    return this.next;
  }

  /** Stores other tables' rows in the next commit, in order with the session's records (see Journals.store); takes no position. */
  store(write: () => void, durability: Durability): Promise<void> {
    return this.journals.store(write, durability);
  }

  /** Where the next byte appended to `journal` goes, as far as is committed (appends in flight go before it). */
  endOf(journal: string): number {
    return this.journals.endOf(journal);
  }

  /** Appends like Journals.append, stamping each record with its position. */
  append(journal: string, inputs: readonly AppendInput[], options?: AppendOptions): Promise<AppendResult> {
    const first = this.next;
    const stamped = inputs.map((input, i) => ({ data: input.data, meta: { ...input.meta, [POSITION_KEY]: String(first + i) } }));
    const committed = this.journals.append(journal, stamped, options);
    this.next += inputs.length;
    const wake = (): void => this.commits.wakeAll();
    committed.then(wake, wake);
    return committed;
  }
}

/** A record's position; records written by hand through JournalService have none. */
export function positionOf(record: JournalRecord): number | undefined {
  const p = record.meta?.[POSITION_KEY];
  return p === undefined ? undefined : Number(p);
}

/** Where a session's positions continue after a daemon restart: one past the highest stored. */
export function nextPositionAfter(journals: Journals, names: readonly string[]): number {
  let next = 1;
  for (const name of names) {
    let last: JournalRecord | undefined;
    try {
      const info = journals.get(name);
      if (info.nextSeq > info.firstSeq) last = journals.page(name, info.nextSeq - 1, 1, 1)[0];
    } catch {
      continue;
    }
    const p = last === undefined ? undefined : positionOf(last);
    if (p !== undefined && p + 1 > next) next = p + 1;
  }
  return next;
}
