import { afterEach, describe, expect, it, vi } from "vitest";
import { setLongTimeout, TIMER_MAX_MS } from "../../daemon/long-timeout.js";

const DAY_MS = 86_400_000;

// Node's clock cannot be waited on for a month in a test: these run on vitest's fake timers, which keep Node's 2^31 - 1 ms limit.
describe("setLongTimeout", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("fires once, when its delay has passed (late by under a millisecond a leg of ~24.8 days), for delays past what one of Node's timers holds", () => {
    vi.useFakeTimers();
    for (const delay of [1_000, TIMER_MAX_MS, TIMER_MAX_MS + 1, 30 * DAY_MS, 10_000 * 365 * DAY_MS]) {
      const fired = vi.fn();
      setLongTimeout(fired, delay);
      vi.advanceTimersByTime(Math.max(0, delay - 1));
      expect(fired, `${delay} ms`).not.toHaveBeenCalled();
      vi.advanceTimersByTime(Math.ceil(delay / TIMER_MAX_MS) + 1);
      expect(fired, `${delay} ms`).toHaveBeenCalledTimes(1);
      vi.advanceTimersByTime(TIMER_MAX_MS);
      expect(fired).toHaveBeenCalledTimes(1);
    }
  });

  it("is cleared as any timer is, between its legs too", () => {
    vi.useFakeTimers();
    const fired = vi.fn();
    const timer = setLongTimeout(fired, 60 * DAY_MS);
    vi.advanceTimersByTime(40 * DAY_MS);
    clearTimeout(timer);
    vi.advanceTimersByTime(40 * DAY_MS);
    expect(fired).not.toHaveBeenCalled();
  });
});
