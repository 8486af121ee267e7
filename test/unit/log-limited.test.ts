import { afterEach, describe, expect, it, vi } from "vitest";
import { LOG_KIND_LINES, LOG_KIND_WINDOW_MS, log, logLimited, logOutput } from "../../daemon/log.js";

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe("lines clients can cause", () => {
  it("are logged LOG_KIND_LINES per window, the rest counted and the count logged with the next window's first", () => {
    vi.useFakeTimers({ now: 0 });
    const lines: string[] = [];
    vi.spyOn(logOutput, "write").mockImplementation((text) => void lines.push(text));
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

describe("the log", () => {
  it("counts the lines it could not write (a full disk) and says so with the next it can, instead of throwing", () => {
    const lines: string[] = [];
    let full = true;
    vi.spyOn(logOutput, "write").mockImplementation((text) => {
      if (full) throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
      lines.push(text);
    });
    expect(() => {
      log("one");
      log("two");
    }).not.toThrow();
    full = false;
    log("three");
    expect(lines.map((line) => line.replace(/^\S+ /, ""))).toEqual(["2 log line(s) before this one could not be written (ENOSPC: no space left on device, write)\n", "three\n"]);
    log("four");
    expect(lines).toHaveLength(3);
  });
});
