import type { JournalState } from "./journal-tables.js";
import type { JournalInfo } from "./types.js";

/**
 * The journals' bounds in memory (Journals'), by name: loaded from the store
 * when first asked for, and dropped again once idle, so the daemon's memory
 * follows the journals in use rather than every journal it touched since it
 * started (~200 bytes each, and every session, exec and PTY has some: 4,000
 * PTYs opened and closed kept ~0.8 MB for good; bench/NOTES.md).
 *
 * A journal's state is idle when no reader holds it (`hold`), no follower
 * waits on it, and its records did not change since the sweep before. A
 * sweep runs only while no append is pending or preparing: an append in
 * flight counts on its journal's state until its commit, and a state loaded
 * again holds what the store holds, every commit included.
 */
export class JournalStates extends Map<string, JournalState> {
  /** `added` is told of each state set: the sweeps run while there are some. */
  constructor(private readonly added: () => void = () => {}) {
    super();
  }

  override set(name: string, state: JournalState): this {
    super.set(name, state);
    this.added();
    return this;
  }

  /** Readers holding a state across their awaits, by state. */
  private readonly holders = new Map<JournalState, number>();
  /** Each state's next sequence number at the sweep before. */
  private seenAt = new WeakMap<JournalState, number>();

  /** A reader holds `state` (its bounds must stay the ones commits update) until `release`. */
  hold(state: JournalState): void {
    this.holders.set(state, (this.holders.get(state) ?? 0) + 1);
  }

  release(state: JournalState): void {
    const count = (this.holders.get(state) ?? 1) - 1;
    if (count === 0) this.holders.delete(state);
    else this.holders.set(state, count);
  }

  /** Drops the idle states (`followed` says whether a journal has followers); how many it dropped. */
  sweep(followed: (name: string) => boolean): number {
    const seenAt = new WeakMap<JournalState, number>();
    let dropped = 0;
    for (const [name, state] of this) {
      if (this.seenAt.get(state) === state.nextSeq && !this.holders.has(state) && !followed(name)) {
        this.delete(name);
        dropped++;
      } else {
        seenAt.set(state, state.nextSeq);
      }
    }
    this.seenAt = seenAt;
    return dropped;
  }
}

/** What a client is told of a journal: its name, bounds, retention and creation. */
export function journalInfo(state: JournalState): JournalInfo {
  return {
    name: state.name,
    firstSeq: state.firstSeq,
    nextSeq: state.nextSeq,
    firstOffset: state.firstOffset,
    nextOffset: state.nextOffset,
    retention: state.retention,
    createdAt: state.createdAt,
  };
}
