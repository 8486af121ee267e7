import { describe, expect, it } from "vitest";
import { CliError } from "../../client/cli-error.js";
import { parseStartAtFlag } from "../../client/flags.js";

describe("exec --delay and --at (parseStartAtFlag)", () => {
  // 2026-12-07 14:30:00 in local time, whatever the zone the tests run in.
  const now = new Date(2026, 11, 7, 14, 30, 0).getTime();

  it("--delay is a duration from now", () => {
    expect(parseStartAtFlag("10m", undefined, now)).toBe(now + 600_000);
    expect(parseStartAtFlag("1h30m", undefined, now)).toBe(now + 5_400_000);
  });

  it("--at a time of day is the next one to come, today or tomorrow, in local time", () => {
    expect(parseStartAtFlag(undefined, "15:00", now)).toBe(new Date(2026, 11, 7, 15, 0, 0).getTime());
    expect(parseStartAtFlag(undefined, "03:00", now)).toBe(new Date(2026, 11, 8, 3, 0, 0).getTime());
    expect(parseStartAtFlag(undefined, "14:30", now)).toBe(new Date(2026, 11, 8, 14, 30, 0).getTime());
    expect(parseStartAtFlag(undefined, "14:30:15", now)).toBe(new Date(2026, 11, 7, 14, 30, 15).getTime());
  });

  it("--at a date and time is local unless it says its offset", () => {
    expect(parseStartAtFlag(undefined, "2026-12-24T18:00", now)).toBe(new Date(2026, 11, 24, 18, 0, 0).getTime());
    expect(parseStartAtFlag(undefined, "2026-12-24 18:00", now)).toBe(new Date(2026, 11, 24, 18, 0, 0).getTime());
    expect(parseStartAtFlag(undefined, "2026-12-24T18:00:00Z", now)).toBe(Date.UTC(2026, 11, 24, 18, 0, 0));
  });

  it("neither is no time; both, or what is no time, is a usage error", () => {
    expect(parseStartAtFlag(undefined, undefined, now)).toBeUndefined();
    for (const [delay, at] of [["10m", "03:00"], [undefined, "25:00"], [undefined, "3pm"], [undefined, "2026-12-24"], ["soon", undefined]] as const) {
      let thrown: unknown;
      try {
        parseStartAtFlag(delay, at, now);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(CliError);
      expect((thrown as CliError).exitCode).toBe(2);
    }
  });
});
