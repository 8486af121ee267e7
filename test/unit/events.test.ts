import { describe, expect, it } from "vitest";
import { EVENTS_KEPT, Events, WATCHER_QUEUE_MAX, type DaemonEvent } from "../../daemon/events.js";

const everything = { types: new Set<string>(), ids: new Set<string>(), labels: [] };

function publish(events: Events, count: number): void {
  for (let i = 0; i < count; i++) events.publish({ type: "exec", action: "start", id: `e-${i}`, attributes: {}, labels: {} });
}

describe("the daemon's events (Events)", () => {
  it("a watcher that does not read holds at most WATCHER_QUEUE_MAX events: the oldest go, and its next batch says how many it missed", async () => {
    const events = new Events();
    const watch = events.watch({}, everything, new AbortController().signal);
    expect((await watch.next()).value).toEqual({ events: [], missed: 0 });
    publish(events, 25_000);
    const { events: batch, missed } = (await watch.next()).value!;
    expect(batch.length).toBeLessThanOrEqual(WATCHER_QUEUE_MAX);
    expect(batch.length + missed).toBe(25_000);
    expect(batch.map((e: DaemonEvent) => e.sequence)).toEqual(Array.from({ length: batch.length }, (_, i) => missed + 1 + i));
    publish(events, 1);
    expect((await watch.next()).value).toMatchObject({ events: [{ sequence: 25_001 }], missed: 0 });
    await watch.return(undefined);
  });

  it("keeps the last EVENTS_KEPT for a watch from a time or after a sequence; one after a sequence no longer kept is told how many it missed", async () => {
    const events = new Events();
    publish(events, 3 * EVENTS_KEPT + 7);
    const since = events.watch({ sinceMs: 0 }, everything, new AbortController().signal);
    const kept = (await since.next()).value!.events;
    expect(kept.map((e: DaemonEvent) => e.sequence)).toEqual(Array.from({ length: EVENTS_KEPT }, (_, i) => 2 * EVENTS_KEPT + 8 + i));
    const after = events.watch({ afterSequence: 10 }, everything, new AbortController().signal);
    expect((await after.next()).value).toMatchObject({ missed: 2 * EVENTS_KEPT + 8 - 11 });
    // A watch's end (its client gone) lets it go.
    const stop = new AbortController();
    const ending = events.watch({}, { types: new Set(["pty"]), ids: new Set<string>(), labels: [] }, stop.signal);
    await ending.next();
    const waiting = ending.next();
    stop.abort();
    await expect(waiting).rejects.toThrow();
  });
});
