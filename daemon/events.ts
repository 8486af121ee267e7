import { Code } from "@connectrpc/connect";
import { TetherError, invalidArgument } from "./errors.js";
import { Waiters } from "./sessions/waiters.js";
import { labelsMatch, type LabelSelector } from "./workspaces/labels.js";

/** What an event reports on. */
export const EVENT_TYPES = ["session", "exec", "pty", "workspace"] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** A change as the domain reports it (see EventService in the contract for the actions and attributes). */
export interface EventData {
  readonly type: EventType;
  readonly action: string;
  readonly id: string;
  readonly attributes: Readonly<Record<string, string>>;
  /** The resource's labels as they are at the change (run --label, exec --label, ws create --label). */
  readonly labels: Readonly<Record<string, string>>;
}

export interface DaemonEvent extends EventData {
  /** Dense from 1 since the daemon started. */
  readonly sequence: number;
  readonly time: number;
}

/** How many of the latest events the daemon keeps for a watcher that starts from a time or a sequence. */
export const EVENTS_KEPT = 1000;

/**
 * How many events may wait for one watcher that reads slowly: past it, its
 * oldest are dropped (a tenth at a time) and counted as missed. Beyond them
 * its call's HTTP/2 window holds more. Each is a reference to an event all
 * watchers share: 4096 stuck watchers (the daemon's most calls) hold ~64 MB.
 */
export const WATCHER_QUEUE_MAX = 2000;

/** Where a watch starts: with the kept events from a time on, or after a sequence; neither: with the events to come. */
export interface WatchStart {
  readonly sinceMs?: number | undefined;
  readonly afterSequence?: number | undefined;
}

/** Which events a watcher takes: of these types and resources (by id, or by the name an event says; an empty set: every one), whose resource has every label selected. */
export interface EventFilter {
  readonly types: ReadonlySet<string>;
  readonly ids: ReadonlySet<string>;
  readonly labels: readonly LabelSelector[];
}

/** What a watcher is given at a time: events in order, and how many it missed just before them. */
export interface EventBatch {
  readonly events: DaemonEvent[];
  readonly missed: number;
}

/** One watcher's events not yet taken, at most WATCHER_QUEUE_MAX. */
class Watcher {
  queue: DaemonEvent[] = [];
  missed = 0;
  readonly arrivals = new Waiters();

  constructor(private readonly filter: EventFilter) {}

  takes(event: DaemonEvent): boolean {
    const { types, ids, labels } = this.filter;
    const named = ids.size === 0 || ids.has(event.id) || (event.attributes["name"] !== undefined && ids.has(event.attributes["name"]));
    return (types.size === 0 || types.has(event.type)) && named && labelsMatch(event.labels, labels);
  }

  offer(event: DaemonEvent): void {
    if (!this.takes(event)) return;
    // Full: its oldest tenth go at once (one copy per thousand events, not one per event).
    if (this.queue.length === WATCHER_QUEUE_MAX) {
      const dropped = WATCHER_QUEUE_MAX / 10;
      this.queue = this.queue.slice(dropped);
      this.missed += dropped;
    }
    this.queue.push(event);
    this.arrivals.wakeAll();
  }

  take(): EventBatch {
    const batch = { events: this.queue, missed: this.missed };
    this.queue = [];
    this.missed = 0;
    return batch;
  }
}

/**
 * The daemon's events, as docker events reports a daemon's: each change a
 * domain module made (and stored) is published here, kept among the last
 * EVENTS_KEPT, and handed to every watcher that takes it. Nothing is
 * stored: the store holds what the events report, and a watcher that
 * starts (or comes back) from a time or a sequence gets what is kept.
 */
export class Events {
  /** The latest events, oldest first: at most 2 × EVENTS_KEPT (trimmed to EVENTS_KEPT past it). */
  private kept: DaemonEvent[] = [];
  private nextSequence = 1;
  private readonly watchers = new Set<Watcher>();

  publish(data: EventData): void {
    // Its labels as they are now: a later change to the resource's does not rewrite what was said.
    const labels = Object.keys(data.labels).length === 0 ? NO_LABELS : { ...data.labels };
    const event: DaemonEvent = { ...data, labels, sequence: this.nextSequence++, time: Date.now() };
    this.kept.push(event);
    if (this.kept.length > 2 * EVENTS_KEPT) this.kept = this.kept.slice(-EVENTS_KEPT);
    for (const watcher of this.watchers) watcher.offer(event);
  }

  /**
   * The events `filter` takes: the kept ones `start` asks for, then each as
   * it is published, until `signal` aborts. The first batch holds the kept
   * ones (perhaps none), the later ones what came since. The kept ones are
   * taken and the watcher set up in one step, so none is missed or given
   * twice between.
   */
  async *watch(start: WatchStart, filter: EventFilter, signal: AbortSignal): AsyncGenerator<EventBatch> {
    checkFilter(filter);
    const watcher = new Watcher(filter);
    const first = this.backlog(start, watcher);
    this.watchers.add(watcher);
    try {
      // Always, if empty: a watcher knows the kept ones have all come.
      yield first;
      for (;;) {
        if (watcher.queue.length === 0 && watcher.missed === 0) await watcher.arrivals.wait(signal);
        signal.throwIfAborted();
        yield watcher.take();
      }
    } finally {
      this.watchers.delete(watcher);
    }
  }

  /** The kept events a watch starts with; `missed`: those after a sequence asked for that are no longer kept. */
  private backlog(start: WatchStart, watcher: Watcher): EventBatch {
    const { sinceMs, afterSequence } = start;
    if (sinceMs !== undefined && afterSequence !== undefined) throw invalidArgument("since", "start from a time (since) or after a sequence (after_sequence), not both");
    const kept = this.kept.slice(-EVENTS_KEPT);
    const last = this.nextSequence - 1;
    if (afterSequence !== undefined) {
      if (afterSequence > last) {
        throw new TetherError(Code.OutOfRange, "CURSOR_PAST_END", `event ${afterSequence} is past the last one (${last}): the daemon was restarted since (its events count from 1 again); watch from a time (since) instead`, { last: String(last) });
      }
      const events = kept.filter((e) => e.sequence > afterSequence);
      const oldest = events[0]?.sequence ?? last + 1;
      return { events: events.filter((e) => watcher.takes(e)), missed: oldest - afterSequence - 1 };
    }
    if (sinceMs === undefined) return { events: [], missed: 0 };
    return { events: kept.filter((e) => e.time >= sinceMs && watcher.takes(e)), missed: 0 };
  }
}

const NO_LABELS: Readonly<Record<string, string>> = Object.freeze({});

function checkFilter(filter: EventFilter): void {
  for (const type of filter.types) {
    if (!(EVENT_TYPES as readonly string[]).includes(type)) throw invalidArgument("types", `${JSON.stringify(type)} is no event type: the types are ${EVENT_TYPES.join(", ")}`);
  }
}
