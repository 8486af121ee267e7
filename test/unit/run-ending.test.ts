import { describe, expect, it } from "vitest";
import { parseTaskFile } from "../../daemon/tasks/task-file.js";
import { runEnding } from "../../daemon/sessions/run-ending.js";

const task = parseTaskFile("/p/t.yaml", "tasks:\n  t: { cmd: x, retries: 2, retry_delay: 5s }\n").tasks.get("t")!;
const none = { stopAs: undefined, killedFor: undefined };

describe("a run's ending", () => {
  it("succeeds on exit 0, fails otherwise with a retry while attempts are left and the session is open", () => {
    expect(runEnding({ t: "exited", code: 0 }, none, task, 1, true)).toEqual({ t: "succeeded", reason: "exited with code 0" });
    expect(runEnding({ t: "exited", code: 3 }, none, task, 1, true)).toEqual({ t: "retry", reason: "exited with code 3; retrying in 5s (attempt 2 of 3)", attempt: 2 });
    expect(runEnding({ t: "signalled", signal: "SIGKILL" }, none, task, 2, true)).toMatchObject({ t: "retry", attempt: 3 });
    expect(runEnding({ t: "exited", code: 3 }, none, task, 3, true)).toEqual({ t: "failed", reason: "exited with code 3" });
    expect(runEnding({ t: "exited", code: 3 }, none, task, 1, false)).toEqual({ t: "failed", reason: "exited with code 3" });
    expect(runEnding({ t: "failed-to-start", message: "spawn x ENOENT", exitCode: 127 }, undefined, task, 3, true)).toMatchObject({ t: "failed" });
  });

  it("allows a task's last failure when it says allow_failure, after its retries, a timeout's too; a stop is no failure", () => {
    const lenient = parseTaskFile("/p/t.yaml", "tasks:\n  t: { cmd: x, retries: 1, allow_failure: true }\n").tasks.get("t")!;
    expect(runEnding({ t: "exited", code: 3 }, none, lenient, 1, true)).toMatchObject({ t: "retry", attempt: 2 });
    expect(runEnding({ t: "exited", code: 3 }, none, lenient, 2, true)).toEqual({ t: "allowed", reason: "exited with code 3; allowed to fail (allow_failure): the graph goes on" });
    expect(runEnding({ t: "exited", code: 0 }, { stopAs: undefined, killedFor: "timed out after 1s" }, lenient, 2, true)).toMatchObject({ t: "allowed" });
    expect(runEnding({ t: "signalled", signal: "SIGTERM" }, { stopAs: { status: "cancelled", reason: "cancelled" }, killedFor: undefined }, lenient, 2, true)).toMatchObject({ t: "stopped", status: "cancelled" });
  });

  it("ends as stopped when the daemon stopped it on purpose, and fails (retried) when it killed it for a reason of its own, whatever the exit", () => {
    expect(runEnding({ t: "exited", code: 0 }, { stopAs: { status: "cancelled", reason: "its workspace w was stopped" }, killedFor: undefined }, task, 1, true)).toEqual({
      t: "stopped",
      status: "cancelled",
      reason: "its workspace w was stopped",
    });
    expect(runEnding({ t: "exited", code: 0 }, { stopAs: undefined, killedFor: "timed out after 1s" }, task, 1, true)).toEqual({
      t: "retry",
      reason: "timed out after 1s; retrying in 5s (attempt 2 of 3)",
      attempt: 2,
    });
  });

  it("says what of the output was lost after the reason", () => {
    expect(runEnding({ t: "exited", code: 0 }, none, task, 1, true, "12 bytes of output were not stored")).toEqual({ t: "succeeded", reason: "exited with code 0; 12 bytes of output were not stored" });
  });
});
