import { afterEach, describe, expect, it, vi } from "vitest";
import { LOG_KIND_LINES, LOG_KIND_WINDOW_MS, logLimited } from "../../daemon/log.js";

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe("lines clients can cause", () => {
  it("are logged LOG_KIND_LINES per window, the rest counted and the count logged with the next window's first", () => {
    vi.useFakeTimers({ now: 0 });
    const lines: string[] = [];
    vi.spyOn(process.stderr, "write").mockImplementation((chunk) => lines.push(String(chunk)) > 0);
    for (let i = 0; i < LOG_KIND_LINES + 30; i++) logLimited("test reset", `reset ${i}`);
    logLimited("test other", "other 0");
    expect(lines).toHaveLength(LOG_KIND_LINES + 1);
    expect(lines[LOG_KIND_LINES - 1]).toContain(`reset ${LOG_KIND_LINES - 1} (the last "test reset" line logged for 60s; the rest are counted)`);
    vi.advanceTimersByTime(LOG_KIND_WINDOW_MS);
    logLimited("test reset", "reset again");
    expect(lines.slice(LOG_KIND_LINES + 1).map((line) => line.slice(line.indexOf(" ") + 1))).toEqual([
      '30 more line(s) of "test reset" not logged in the 60s before\n',
      "reset again\n",
    ]);
  });
});
