import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { callLimit, connectionLimit, CONNECTIONS_MAX } from "../../daemon/traffic-limits.js";

/** A /proc/PID/limits file with this open-file soft limit. */
function limitsFile(soft: string): string {
  const path = join(mkdtempSync(join(tmpdir(), "tether-limits-")), "limits");
  writeFileSync(
    path,
    [
      "Limit                     Soft Limit           Hard Limit           Units     ",
      "Max processes             95433                95433                processes ",
      `Max open files            ${soft.padEnd(20)} 524288               files     `,
      "Max locked memory         8388608              8388608              bytes     ",
    ].join("\n"),
  );
  return path;
}

describe("the daemon's limits on connections and calls", () => {
  it("takes half the open-file limit in connections, at most 4096, and four calls per connection", () => {
    expect(connectionLimit(limitsFile("1024"))).toBe(512);
    expect(connectionLimit(limitsFile("200"))).toBe(100);
    expect(connectionLimit(limitsFile("20000"))).toBe(CONNECTIONS_MAX);
    expect(connectionLimit(limitsFile("unlimited"))).toBe(CONNECTIONS_MAX);
    expect(connectionLimit(join(tmpdir(), "no-such-limits-file"))).toBe(CONNECTIONS_MAX);
    expect(callLimit(CONNECTIONS_MAX)).toBe(16_384);
  });
});
