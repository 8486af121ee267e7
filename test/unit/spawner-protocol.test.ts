import { describe, expect, it } from "vitest";
import { applyEnvChanges, envChanges } from "../../daemon/process/spawner-protocol.js";

describe("the process starter's environment changes", () => {
  it("rebuild each environment of a sequence from the one before, unsetting what went and what is undefined", () => {
    const sequence: Record<string, string | undefined>[] = [
      { PATH: "/bin", HOME: "/root", TETHER_RUN: "1" },
      { PATH: "/bin", HOME: "/root", TETHER_RUN: "2", EXTRA: "x" },
      { PATH: "/usr/bin", TETHER_RUN: "3", EXTRA: undefined },
      {},
      { A: "", B: "=b" },
      JSON.parse('{"__proto__": "p", "A": ""}'),
    ];
    const helper: Record<string, string> = Object.create(null);
    let sent: Record<string, string | undefined> = {};
    for (const env of sequence) {
      const changes = envChanges(sent, env);
      applyEnvChanges(helper, changes);
      sent = env;
      expect({ ...helper }).toEqual(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined)));
    }
    // What does not change is not sent.
    expect(envChanges({ PATH: "/bin", TETHER_RUN: "1" }, { PATH: "/bin", TETHER_RUN: "2" })).toEqual({ set: { TETHER_RUN: "2" }, unset: [] });
  });
});
