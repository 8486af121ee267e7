import { spawnSync } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { ErrorReason } from "../../gen/tether/v1/errors_pb.js";
import { RunStatus, SessionStatus } from "../../gen/tether/v1/session_pb.js";
import { SessionService } from "../../gen/tether/v1/session_service_pb.js";
import { CLI_ENTRY, daemonPerTest } from "../helpers/daemon.js";
import { failure } from "../helpers/errors.js";
import { logText, waitQuiet, writeTaskFile } from "../helpers/sessions.js";

const daemon = daemonPerTest();

const TASKS = `
tasks:
  build: { cmd: "echo artifact-1", result: stdout }
  db: { cmd: "echo db up; touch db.up; exec sleep 300", readiness: { cmd: "test -f db.up", interval: 100ms } }
  lint: { cmd: "echo linted" }
  test:
    upstream: [build, db]
    cmd: '[ -f fixed ] && echo "passed with {{ xcom.build }}" || { echo failing; exit 1; }'
  ci: { upstream: [test, lint] }
`;

describe("tether rerun --failed (RerunSessionRequest.failed_only)", () => {
  it("runs again what did not succeed, what waits on it and the services it needs; the rest is succeeded from the start with its results; refused when nothing failed or while it runs", async () => {
    const d = await daemon();
    const client = d.client(SessionService);
    const file = writeTaskFile(TASKS);
    const { session: first } = await client.startSession({ task: "ci", taskFile: file });
    expect(await waitQuiet(client, first!.id)).toMatchObject({ status: SessionStatus.CLOSED, exitCode: 1 });
    writeFileSync(join(dirname(file), "fixed"), "");
    rmSync(join(dirname(file), "db.up"));

    const cli = spawnSync(process.execPath, [CLI_ENTRY, "rerun", first!.id, "--failed"], { env: d.env, encoding: "utf8", cwd: dirname(file) });
    expect([cli.status, cli.stdout]).toEqual([0, "db    | db up\ntest  | passed with artifact-1\n"]);
    const [again] = (await client.listSessions({})).sessions;
    expect(again).toMatchObject({ rerunOf: first!.id, status: SessionStatus.CLOSED, exitCode: 0 });
    const { runs } = await client.listRuns({ parent: again!.name });
    const byTask = Object.fromEntries(runs.map((r) => [r.task, r]));
    const carried = `succeeded in ${first!.id} (rerun --failed runs what did not)`;
    for (const task of ["build", "lint"]) {
      expect(byTask[task]!.transitions.map((t) => [RunStatus[t.status], t.reason])).toEqual([["PENDING", ""], ["SUCCEEDED", carried]]);
      expect(byTask[task]!.pid).toBe(0);
    }
    // db ran again (test needs it running), test ran with build's result of the first session.
    expect(byTask["db"]!.transitions.map((t) => RunStatus[t.status])).toContain("READY");
    expect(RunStatus[byTask["test"]!.status]).toBe("SUCCEEDED");
    expect((await logText(client, again!.id)).stdout).toBe("db up\npassed with artifact-1\n");
    expect((await client.getSession({ name: again!.name })).session!.xcom).toContainEqual(expect.objectContaining({ key: "build", value: "artifact-1" }));

    const nothing = await failure(client.rerunSession({ name: again!.name, failedOnly: true }));
    expect(nothing).toEqual({ code: Code.FailedPrecondition, reason: ErrorReason.NOTHING_TO_RERUN, message: `every task of session ${again!.id} succeeded: nothing failed to run again (tether rerun ${again!.id} runs them all)` });
    const { session: running } = await client.startSession({ task: "db", taskFile: file });
    const busy = await failure(client.rerunSession({ name: running!.name, failedOnly: true }));
    expect([busy.code, busy.reason]).toEqual([Code.FailedPrecondition, ErrorReason.STILL_RUNNING]);
    await client.cancelSession({ name: running!.name });
  });
});
