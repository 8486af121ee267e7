import { spawnSync } from "node:child_process";
import { dirname } from "node:path";
import { describe, expect, it } from "vitest";
import { RunStatus, SessionStatus } from "../../gen/tether/v1/session_pb.js";
import { SessionService } from "../../gen/tether/v1/session_service_pb.js";
import { CLI_ENTRY, daemonPerTest } from "../helpers/daemon.js";
import { eventually, logText, waitQuiet, writeTaskFile } from "../helpers/sessions.js";

const daemon = daemonPerTest();

const TASKS = `
tasks:
  build: { cmd: "echo built" }
  test:
    upstream: [build]
    matrix:
      python: [3.10, "3.12"]
      os: [linux, mac]
    env: { PY: "{{ matrix.python }}" }
    cmd: 'echo "py=$PY os={{ matrix.os }}"; [ "{{ matrix.os }}-$PY" != "mac-3.12" ]'
  ci: { upstream: [test], cmd: "echo shipped" }
`;

describe("a task's matrix, run by the daemon", () => {
  it("runs a task of each combination, its values put in; what waits for the task waits for every one, and one failing skips it; logs --task of it shows theirs; one combination runs alone by its name", async () => {
    const d = await daemon();
    const client = d.client(SessionService);
    const file = writeTaskFile(TASKS);
    const { session } = await client.startSession({ task: "ci", taskFile: file });
    expect(await waitQuiet(client, session!.id)).toMatchObject({ status: SessionStatus.CLOSED, exitCode: 1 });
    const { runs } = await client.listRuns({ parent: session!.name });
    const status = Object.fromEntries(runs.map((r) => [r.task, RunStatus[r.status]]));
    expect(status).toEqual({
      build: "SUCCEEDED",
      "test:3.10:linux": "SUCCEEDED",
      "test:3.10:mac": "SUCCEEDED",
      "test:3.12:linux": "SUCCEEDED",
      "test:3.12:mac": "FAILED",
      test: "SKIPPED",
      ci: "SKIPPED",
    });
    const out = (await logText(client, session!.id)).stdout;
    for (const line of ["py=3.10 os=linux", "py=3.10 os=mac", "py=3.12 os=linux", "py=3.12 os=mac"]) expect(out).toContain(`${line}\n`);
    expect(out).not.toContain("shipped");
    // The task's output is its combinations' (logs --task test), as a group's is its members'.
    let grouped = "";
    for await (const { chunks } of client.readSessionLogs({ name: session!.name, task: "test" })) for (const c of chunks) grouped += Buffer.from(c.data).toString();
    expect(grouped.split("\n").filter(Boolean).sort()).toEqual(["py=3.10 os=linux", "py=3.10 os=mac", "py=3.12 os=linux", "py=3.12 os=mac"]);

    const cli = (...args: string[]) => spawnSync(process.execPath, [CLI_ENTRY, ...args], { env: d.env, encoding: "utf8", cwd: dirname(file) });
    const one = cli("run", "test:3.10:mac");
    expect([one.status, one.stdout]).toEqual([0, "build         | built\ntest:3.10:mac | py=3.10 os=mac\n"]);
    const tasks = cli("tasks").stdout;
    expect(tasks).toContain("test:3.12:mac\n  cmd: echo \"py=$PY os=mac\"; [ \"mac-$PY\" != \"mac-3.12\" ]\n  after: build\n");
    expect(tasks).toContain("test\n  a group: done once its upstreams are (no cmd)\n  after: test:3.10:linux, test:3.10:mac, test:3.12:linux, test:3.12:mac\n");
  });

  it("kill --task of a matrix task signals each combination's live run", async () => {
    const d = await daemon();
    const client = d.client(SessionService);
    const file = writeTaskFile(`tasks:\n  svc:\n    matrix: { n: [1, 2] }\n    cmd: "exec sleep 300"\n`);
    const { session } = await client.startSession({ task: "svc", taskFile: file });
    await eventually(async () => ((await client.listRuns({ parent: session!.name })).runs.filter((r) => r.status === RunStatus.RUNNING && r.pid > 0).length === 2 ? true : undefined));
    const { runs } = await client.signalSession({ name: session!.name, task: "svc", signal: "TERM" });
    expect(runs.map((r) => r.task)).toEqual(["svc:1", "svc:2"]);
    expect(await waitQuiet(client, session!.id)).toMatchObject({ status: SessionStatus.CLOSED, exitCode: 143 });
  });
});
