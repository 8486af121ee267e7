import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { PeriodicChore } from "../../daemon/periodic-chore.js";

describe("a periodic chore", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("runs only from a poke until a round finds nothing left, then waits for the next poke; a poke while it runs starts no second timer", () => {
    let left = 2;
    let rounds = 0;
    const chore = new PeriodicChore(1000, () => {
      rounds++;
      return --left > 0;
    });
    vi.advanceTimersByTime(5000);
    expect([rounds, chore.running]).toEqual([0, false]);
    chore.poke();
    chore.poke();
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(1000);
    expect([rounds, chore.running]).toEqual([1, true]);
    vi.advanceTimersByTime(1000);
    expect([rounds, chore.running]).toEqual([2, false]);
    // Idle: no timer, no round.
    vi.advanceTimersByTime(10_000);
    expect([rounds, vi.getTimerCount()]).toEqual([2, 0]);
    left = 1;
    chore.poke();
    vi.advanceTimersByTime(1000);
    expect([rounds, chore.running]).toEqual([3, false]);
    chore.poke();
    chore.stop();
    expect(vi.getTimerCount()).toBe(0);
  });
});
