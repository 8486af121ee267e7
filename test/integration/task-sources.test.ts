import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { RunStatus, SessionStatus } from "../../gen/tether/v1/session_pb.js";
import { SessionService } from "../../gen/tether/v1/session_service_pb.js";
import { CLI_ENTRY, daemonPerTest } from "../helpers/daemon.js";
import { waitQuiet, writeTaskFile } from "../helpers/sessions.js";

const daemon = daemonPerTest();

const TASKS = `
tasks:
  build:
    sources: [src/**/*.txt]
    generates: [out/all.txt]
    cmd: 'mkdir -p out && cat src/*.txt > out/all.txt && echo built'
  test: { upstream: [build], cmd: "cat out/all.txt" }
`;

describe("a task's sources and generates (make's up to date)", () => {
  it("runs nothing when what it generates is no older than its sources: succeeded, saying so, its downstreams going on; a newer source, a missing output or --force runs it", async () => {
    const d = await daemon();
    const client = d.client(SessionService);
    const file = writeTaskFile(TASKS);
    const dir = dirname(file);
    mkdirSync(join(dir, "src"));
    writeFileSync(join(dir, "src", "a.txt"), "a\n");
    /** Runs test; says how build's run ended: its status, whether it ran a process, its reason. */
    const build = async (force = false): Promise<[string, boolean, string]> => {
      const { session } = await client.startSession({ task: "test", taskFile: file, force });
      expect(await waitQuiet(client, session!.id)).toMatchObject({ status: SessionStatus.CLOSED, exitCode: 0 });
      const run = (await client.listRuns({ parent: session!.name })).runs.find((r) => r.task === "build")!;
      return [RunStatus[run.status], run.pid !== 0, run.reason];
    };
    expect(await build()).toEqual(["SUCCEEDED", true, "exited with code 0"]);
    const upToDate = "up to date: its 1 source file(s) are no newer than the 1 file(s) it generates, as make decides (run --force runs it)";
    expect(await build()).toEqual(["SUCCEEDED", false, upToDate]);
    // A source newer than the output: it runs.
    const later = new Date(Date.now() + 60_000);
    writeFileSync(join(dir, "src", "b.txt"), "b\n");
    utimesSync(join(dir, "src", "b.txt"), later, later);
    expect(await build()).toEqual(["SUCCEEDED", true, "exited with code 0"]);
    utimesSync(join(dir, "out", "all.txt"), later, later);
    expect((await build())[1]).toBe(false);
    expect(await build(true)).toEqual(["SUCCEEDED", true, "exited with code 0"]);
    // Its output gone: it runs.
    utimesSync(join(dir, "out", "all.txt"), later, later);
    expect((await build())[1]).toBe(false);
    rmSync(join(dir, "out"), { recursive: true });
    expect((await build())[1]).toBe(true);

    const cli = (...args: string[]) => spawnSync(process.execPath, [CLI_ENTRY, ...args], { env: d.env, encoding: "utf8", cwd: dir });
    expect(cli("tasks").stdout).toContain("build\n  cmd: mkdir -p out && cat src/*.txt > out/all.txt && echo built\n  up to date when out/all.txt no older than src/**/*.txt\n");
    utimesSync(join(dir, "out", "all.txt"), later, later);
    expect(cli("run", "test").stdout).toBe("test  | a\ntest  | b\n");
    expect(cli("run", "test", "--force").stdout).toBe("build | built\ntest  | a\ntest  | b\n");
  });
});
