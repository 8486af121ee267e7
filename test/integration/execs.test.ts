import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, type Client } from "@connectrpc/connect";
import Database from "better-sqlite3";
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it, onTestFailed } from "vitest";
import { ErrorReason } from "../../gen/tether/v1/errors_pb.js";
import { ExecStatus, RestartMode, type Exec } from "../../gen/tether/v1/exec_pb.js";
import { DaemonService } from "../../gen/tether/v1/daemon_service_pb.js";
import { ExecService, type ExecStartSchema } from "../../gen/tether/v1/exec_service_pb.js";
import { PtyService } from "../../gen/tether/v1/pty_service_pb.js";
import { WorkspaceService } from "../../gen/tether/v1/workspace_service_pb.js";
import { Materialization } from "../../gen/tether/v1/workspace_pb.js";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { CLI_ENTRY, daemonPerTest, type TestDaemon } from "../helpers/daemon.js";
import { failure } from "../helpers/errors.js";
import { ExecRequests, attachToEnd, collect, emptyResult, execToEnd, type ExecResult } from "../helpers/execs.js";
import { CAN_FILL_A_DISK, onSmallDisk } from "../helpers/full-disk.js";
import { alive, eventually } from "../helpers/sessions.js";

const daemon = daemonPerTest();

async function withWorkspace(): Promise<{ d: TestDaemon; execs: Client<typeof ExecService>; root: string }> {
  const d = await daemon();
  const { workspace } = await d.client(WorkspaceService).createWorkspace({ displayName: "w" });
  return { d, execs: d.client(ExecService), root: workspace!.root };
}

/** Starts an exec and detaches once it has printed `marker` (or at once when marker is empty). */
async function startDetached(execs: Client<typeof ExecService>, argv: string[], marker = "", start: Omit<MessageInitShape<typeof ExecStartSchema>, "workspace" | "argv" | "$typeName"> = {}): Promise<ExecResult> {
  const requests = new ExecRequests();
  requests.push({ kind: { case: "start", value: { workspace: "w", argv, ...start } } });
  requests.end();
  const result = emptyResult();
  for await (const response of execs.exec(requests)) {
    collect(result, response);
    if (result.exec !== undefined && result.stdout.includes(marker)) break;
  }
  return result;
}

/** A live process's parent, from /proc. */
function parentOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
}

function vmHwmBytes(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith("VmHWM:"))!;
  return Number(line.split(/\s+/)[1]) * 1024;
}

describe("exec", () => {
  it("keeps stdout and stderr apart with their offsets, streams stdin, and ends with the exit code; cwd and env apply", async () => {
    const { execs, root } = await withWorkspace();
    mkdirSync(join(root, "sub"));
    const r = await execToEnd(execs, "w", ["sh", "-c", 'echo "out $GREETING"; echo err >&2; pwd; cat; exit 3'], { stdin: "piped in\n", cwd: "sub", env: { GREETING: "hi" } });
    expect(r.exec!.status).toBe(ExecStatus.RUNNING);
    expect(r.exec!.pid).toBeGreaterThan(0);
    expect(r.stdout).toBe(`out hi\n${join(root, "sub")}\npiped in\n`);
    expect(r.stderr).toBe("err\n");
    expect([r.exit!.status, r.exit!.exitCode]).toEqual([ExecStatus.EXITED, 3]);
    // Offsets count both streams together; stream offsets each stream alone.
    let next = 0;
    for (const [offset, , length] of r.chunks) {
      expect(offset).toBe(next);
      next += length;
    }
    expect(next).toBe(r.stdout.length + r.stderr.length);
    const got = (await execs.getExec({ exec: r.exec!.id })).exec!;
    expect([got.stdoutBytes, got.stderrBytes, got.envKeys]).toEqual([BigInt(r.stdout.length), 4n, ["GREETING"]]);
  });

  it("outlives the client: detach mid-run, reattach from 0 after the end for every byte, or from any offset for exactly the rest", async () => {
    const { d, execs } = await withWorkspace();
    const started = await startDetached(execs, ["sh", "-c", "echo first; sleep 0.5; seq 1 20000; echo last >&2"], "first");
    const id = started.exec!.id;
    expect(started.exit).toBeUndefined();
    const whole = await attachToEnd(execs, id.slice(0, 4));
    const expected = `first\n${Array.from({ length: 20000 }, (_, i) => `${i + 1}\n`).join("")}`;
    expect(whole.stdout).toBe(expected);
    expect(whole.stderr).toBe("last\n");
    expect([whole.exit!.status, whole.exit!.exitCode]).toEqual([ExecStatus.EXITED, 0]);
    const from = 1000;
    const rest = await attachToEnd(execs, id, from);
    expect(rest.stdout + rest.stderr).toBe((expected + "last\n").slice(from));
    expect(rest.chunks[0]![0]).toBe(from);
    // The exit status and every byte stay readable after a daemon restart.
    await d.stop();
    await d.restart();
    const later = await attachToEnd(execs, id);
    expect(later.stdout).toBe(expected);
    expect(later.exit!.exitCode).toBe(0);
    expect((await execs.listExecs({ workspace: "w" })).execs.map((e) => e.id)).toEqual([id]);
  });

  it("output_max_bytes keeps only the last of the output (docker's max-size): its own client still gets every byte, a reattach from 0 starts at the oldest kept, the disk holds about that much", async () => {
    const { d, execs } = await withWorkspace();
    const MiB = 1024 * 1024;
    const small = await failure(execToEnd(execs, "w", ["true"], { outputMaxBytes: 1024 * 1024 }));
    expect([small.code, small.message]).toEqual([Code.InvalidArgument, "output_max_bytes is 1048576: keep at least 16 MiB of output (0 keeps all of it)"]);
    // 48 MiB of numbered lines, each 64 bytes.
    const lines = 48 * MiB / 64;
    const script = `awk 'BEGIN { for (i = 1; i <= ${lines}; i++) printf "%063d\\n", i }'`;
    const own = await execToEnd(execs, "w", ["sh", "-c", script], { outputMaxBytes: 16 * MiB });
    expect(own.stdout.length).toBe(48 * MiB);
    const id = own.exec!.id;
    const shown = (await execs.getExec({ exec: id })).exec!;
    expect(Number(shown.outputMaxBytes)).toBe(16 * MiB);
    expect(Number(shown.firstOffset)).toBeGreaterThanOrEqual(32 * MiB - 1024 * 1024);
    expect([Number(shown.stdoutBytes), shown.exitCode]).toEqual([48 * MiB, 0]);
    // From the beginning: what is kept, up to the last line, whole chunks from where it starts.
    const kept = await attachToEnd(execs, id);
    expect(kept.chunks[0]![0]).toBe(Number(shown.firstOffset));
    expect(kept.stdout.length).toBe(48 * MiB - Number(shown.firstOffset));
    expect(kept.stdout.endsWith(`${String(lines).padStart(63, "0")}\n`)).toBe(true);
    expect(kept.stdout.length).toBeLessThanOrEqual(16 * MiB);
    const gone = await failure(attachToEnd(execs, id, 100));
    expect([gone.code, gone.reason]).toEqual([Code.OutOfRange, ErrorReason.CURSOR_EXPIRED]);
    // The data files hold the kept output and at most one file more, once those dropped are deleted (off the daemon's thread).
    const onDisk = (): number => Number(spawnSync("du", ["-sb", join(d.home, "output")], { encoding: "utf8" }).stdout.split("\t")[0]);
    await eventually(() => (onDisk() <= 16 * MiB + 16 * MiB + MiB ? true : undefined));
  });

  it("RenameExec names an exec anew (docker rename), running or ended, unique among running ones; its policy's restarts take the new name; empty takes it away", async () => {
    const { execs } = await withWorkspace();
    const web = (await startDetached(execs, ["sleep", "60"], "", { displayName: "web" })).exec!;
    expect((await execs.renameExec({ exec: "web", displayName: "old-web" })).exec!.displayName).toBe("old-web");
    expect((await execs.getExec({ exec: "old-web" })).exec!.id).toBe(web.id);
    const gone = await failure(execs.getExec({ exec: "web" }));
    expect(gone.reason).toBe(ErrorReason.EXEC_NOT_FOUND);
    // The old name is free for a new one; a running one's name is not free for another.
    const next = (await startDetached(execs, ["sleep", "60"], "", { displayName: "web" })).exec!;
    const taken = await failure(execs.renameExec({ exec: "old-web", displayName: "web" }));
    expect([taken.code, taken.reason, taken.message]).toEqual([Code.AlreadyExists, ErrorReason.EXEC_NAME_TAKEN, expect.stringContaining(`exec ${next.id} is running with the name web`)]);
    const bad = await failure(execs.renameExec({ exec: "old-web", displayName: "e-x" }));
    expect(bad.code).toBe(Code.InvalidArgument);
    // Its own name again is no clash.
    expect((await execs.renameExec({ exec: "web", displayName: "web" })).exec!.id).toBe(next.id);

    // Renamed while it runs, its restart (on-failure) carries the new name.
    const flaky = (await startDetached(execs, ["sh", "-c", "sleep 0.5; exit 1"], "", { displayName: "svc", restartPolicy: { mode: RestartMode.ON_FAILURE, maxRestarts: 1 } })).exec!;
    await execs.renameExec({ exec: flaky.id, displayName: "svc2" });
    const restarted = await eventually(async () => {
      const named = (await execs.listExecs({ workspace: "w" })).execs.filter((e) => e.displayName === "svc2");
      return named.length === 2 ? named : undefined;
    });
    expect(restarted.map((e) => e.restartCount)).toEqual([1, 0]);
    // An ended one: renamed, or its name taken away.
    await execs.stopExec({ exec: "old-web" });
    expect((await execs.renameExec({ exec: web.id, displayName: "" })).exec!.displayName).toBe("");
    expect((await execs.getExec({ exec: web.id })).exec!.displayName).toBe("");
    await execs.stopExec({ exec: next.id });
  });

  it("a name (docker run --name) names an exec too, unique among running ones: attach, write, signal, get and remove by it; free again once it ends, naming the newest then; kept across a daemon restart", async () => {
    const { d, execs } = await withWorkspace();
    const web = (await startDetached(execs, ["sh", "-c", "echo up; cat"], "up", { stdin: true, displayName: "web" })).exec!;
    expect(web.displayName).toBe("web");
    const taken = await failure(startDetached(execs, ["true"], "", { displayName: "web" }));
    expect([taken.code, taken.reason, taken.message]).toEqual([
      Code.AlreadyExists,
      ErrorReason.EXEC_NAME_TAKEN,
      `exec ${web.id} is running with the name web: attach to it (tether exec attach web), stop it (tether exec kill web), or pick another name`,
    ]);
    for (const [name, said] of [["e-1", "starts with e-, as exec ids do"], ["a b", "is invalid: use 1-63 letters"], ["x".repeat(64), "is invalid"]] as const) {
      const bad = await failure(startDetached(execs, ["true"], "", { displayName: name }));
      expect([bad.code, bad.message]).toEqual([Code.InvalidArgument, expect.stringContaining(said)]);
    }
    // Written to and read by its name.
    await execs.writeExecStdin({ exec: "web", text: "hello\n", close: true });
    const read = await attachToEnd(execs, "web");
    expect([read.exec!.id, read.stdout, read.exit!.exitCode]).toEqual([web.id, "up\nhello\n", 0]);
    // Ended, its name is free: a new exec takes it, and the name names the running one, then the newest that had it.
    const again = (await startDetached(execs, ["sleep", "60"], "", { displayName: "web" })).exec!;
    expect((await execs.getExec({ exec: "web" })).exec!.id).toBe(again.id);
    expect((await execs.listExecs({ workspace: "w" })).execs.map((e) => [e.id, e.displayName])).toEqual([[again.id, "web"], [web.id, "web"]]);
    await execs.signalExec({ exec: "web", signal: "KILL" });
    await eventually(async () => ((await execs.getExec({ exec: again.id })).exec!.status === ExecStatus.SIGNALLED ? true : undefined));
    await d.stop();
    await d.restart();
    expect((await execs.getExec({ exec: "web" })).exec!.id).toBe(again.id);
    expect((await execs.deleteExec({ exec: "web" })).exec!.id).toBe(again.id);
    expect((await execs.getExec({ exec: "web" })).exec!.id).toBe(web.id);
  });

  it("restart starts an exec's command again as it was started (docker restart): a new exec with its cwd, env, stdin, terminal, output limit and name, once a running one has stopped; the old one stays", async () => {
    const { execs, root } = await withWorkspace();
    mkdirSync(join(root, "sub"));
    const script = 'echo "run $X in $(pwd) at $(stty size)"; read line; echo "got $line"';
    const spec = { tty: true, size: { cols: 100, rows: 30 }, cwd: "sub", env: { X: "1" }, stdin: true, displayName: "web", outputMaxBytes: BigInt(16 * 1024 * 1024) };
    const first = (await startDetached(execs, ["sh", "-c", script], "at 30 100", spec)).exec!;
    const { exec, previous } = await execs.restartExec({ exec: "web" });
    expect(previous).toMatchObject({ id: first.id, status: ExecStatus.SIGNALLED, error: "stopped: restarted (tether exec restart)" });
    expect(exec).toMatchObject({ displayName: "web", argv: ["sh", "-c", script], cwd: join(root, "sub"), envKeys: ["X"], tty: true, status: ExecStatus.RUNNING, outputMaxBytes: spec.outputMaxBytes });
    expect(exec!.id).not.toBe(first.id);
    // Its stdin is open as the first one's was.
    await execs.writeExecStdin({ exec: "web", text: "hello\n" });
    const read = await attachToEnd(execs, "web");
    expect(read.stdout).toContain(`run 1 in ${join(root, "sub")} at 30 100\r\n`);
    expect(read.stdout).toContain("got hello\r\n");
    expect(read.exit!.exitCode).toBe(0);
    // An ended one starts again as it is; the old ones stay, with their output.
    const third = await execs.restartExec({ exec: "web" });
    expect([third.previous!.id, third.previous!.status, third.exec!.status]).toEqual([exec!.id, ExecStatus.EXITED, ExecStatus.RUNNING]);
    expect((await execs.listExecs({ workspace: "w" })).execs.map((e) => e.id)).toEqual([third.exec!.id, exec!.id, first.id]);
    expect((await attachToEnd(execs, first.id)).stdout).toContain("run 1 in");
    await execs.signalExec({ exec: "web", signal: "KILL" });
  });

  it("restart gives a command that ignores SIGTERM the grace, then SIGKILL; a second restart while one is under way is refused; one the last tether kept no environment of is refused", async () => {
    const { d, execs } = await withWorkspace();
    const stubborn = (await startDetached(execs, ["sh", "-c", 'trap "" TERM; echo up; while :; do sleep 0.1; done'], "up", { displayName: "stubborn" })).exec!;
    const restarting = execs.restartExec({ exec: "stubborn", grace: { seconds: 1n } });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const twice = await failure(execs.restartExec({ exec: "stubborn" }));
    expect([twice.code, twice.reason, twice.message]).toEqual([Code.FailedPrecondition, ErrorReason.EXEC_NOT_RESTARTABLE, `exec ${stubborn.id} is being restarted already: tether exec ls shows the new one once it runs`]);
    const { previous, exec } = await restarting;
    expect([previous!.status, previous!.signal]).toEqual([ExecStatus.SIGNALLED, "SIGKILL"]);
    expect(exec!.status).toBe(ExecStatus.RUNNING);
    await execs.signalExec({ exec: exec!.id, signal: "KILL" });
    await eventually(async () => ((await execs.getExec({ exec: exec!.id })).exec!.status === ExecStatus.SIGNALLED ? true : undefined));
    // Started by a tether that kept no environment (a store from before): refused, saying what to do.
    await d.stop();
    const db = new Database(join(d.home, "tether.db"));
    db.prepare("UPDATE execs SET restart = NULL").run();
    db.close();
    await d.restart();
    const old = await failure(execs.restartExec({ exec: "stubborn" }));
    expect([old.code, old.reason, old.message]).toEqual([Code.FailedPrecondition, ErrorReason.EXEC_NOT_RESTARTABLE, `exec ${exec!.id} was started by an older tether, which did not keep its environment: start it anew with tether exec`]);
  });

  it("a restart policy starts the command again when it ends by itself, as docker run --restart: on-failure until it succeeds or up to its limit, after a delay that doubles; always after any end", async () => {
    const { d, execs, root } = await withWorkspace();
    const line = async (name: string, length: number): Promise<Exec[]> =>
      eventually(async () => {
        const named = (await execs.listExecs({ workspace: "w" })).execs.filter((e) => e.displayName === name);
        return named.length === length && named.every((e) => e.status !== ExecStatus.RUNNING) ? named : undefined;
      });
    const quiet = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 1000));
    // Fails twice, then succeeds: on-failure starts it again until it does, each start a new exec with its name.
    writeFileSync(join(root, "flaky.sh"), 'n=$(cat n 2>/dev/null || echo 0); n=$((n + 1)); echo $n > n; echo "try $n"; [ $n -ge 3 ]\n');
    const first = (await startDetached(execs, ["sh", "flaky.sh"], "", { displayName: "flaky", restartPolicy: { mode: RestartMode.ON_FAILURE } })).exec!;
    const tries = await line("flaky", 3);
    expect(tries.map((e) => [e.restartCount, e.exitCode, e.restartPolicy?.mode])).toEqual([[2, 0, RestartMode.ON_FAILURE], [1, 1, RestartMode.ON_FAILURE], [0, 1, RestartMode.ON_FAILURE]]);
    expect(tries[2]!.id).toBe(first.id);
    expect((await attachToEnd(execs, tries[0]!.id)).stdout).toBe("try 3\n");
    // The delays: 100 ms, then 200.
    const gap = (later: Exec, earlier: Exec): number => timestampMs(later.createTime!) - timestampMs(earlier.endTime!);
    expect(gap(tries[1]!, tries[2]!)).toBeGreaterThanOrEqual(95);
    expect(gap(tries[0]!, tries[1]!)).toBeGreaterThanOrEqual(195);
    await quiet();
    expect((await line("flaky", 3)).length).toBe(3);
    // Up to its limit: the first and two restarts.
    await startDetached(execs, ["sh", "-c", "exit 7"], "", { displayName: "doomed", restartPolicy: { mode: RestartMode.ON_FAILURE, maxRestarts: 2 } });
    expect((await line("doomed", 3)).map((e) => [e.restartCount, e.exitCode])).toEqual([[2, 7], [1, 7], [0, 7]]);
    await quiet();
    expect((await line("doomed", 3)).length).toBe(3);
    // always: after a success too. A command that cannot start is not started again (it would fail at once, forever).
    await startDetached(execs, ["true"], "", { displayName: "steady", restartPolicy: { mode: RestartMode.ALWAYS } });
    await line("steady", 3);
    await startDetached(execs, ["./missing"], "", { displayName: "missing", restartPolicy: { mode: RestartMode.ALWAYS } });
    await quiet();
    expect((await line("missing", 1))[0]!.status).toBe(ExecStatus.FAILED_TO_START);
    const bad = await failure(startDetached(execs, ["true"], "", { restartPolicy: { mode: RestartMode.ALWAYS, maxRestarts: 3 } }));
    expect([bad.code, bad.message]).toEqual([Code.InvalidArgument, "max_restarts goes with on-failure, as docker's --restart on-failure:N: always restarts without a limit"]);
    await d.client(WorkspaceService).stopWorkspace({ workspace: "w" });
  });

  it("a restart policy lets an end a client asked for be (exec kill, a signal on the Exec call), and exec kill or ws stop of one waiting out its delay cancels it; exec restart counts its restarts anew", async () => {
    const { d, execs } = await withWorkspace();
    const count = async (name: string): Promise<number> => (await execs.listExecs({ workspace: "w" })).execs.filter((e) => e.displayName === name).length;
    const quiet = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 1000));
    const always = { restartPolicy: { mode: RestartMode.ALWAYS } };
    // Where it was when it failed: it timed out once in a full run, and not since (the steps say which wait held).
    const steps: string[] = [];
    const t0 = Date.now();
    const step = (what: string): void => void steps.push(`${Date.now() - t0} ms: ${what}`);
    onTestFailed(() => console.error(`the steps it took:\n${steps.join("\n")}`));
    // Killed by a client while it runs: not started again.
    const server = (await startDetached(execs, ["sh", "-c", "echo up; sleep 60"], "up", { displayName: "server", ...always })).exec!;
    step("server started");
    await execs.signalExec({ exec: "server", signal: "TERM" });
    await eventually(async () => ((await execs.getExec({ exec: server.id })).exec!.status === ExecStatus.SIGNALLED ? true : undefined));
    await quiet();
    expect(await count("server")).toBe(1);
    // Interrupted by its own client (Ctrl-C on the Exec call): not started again either.
    step("server checked");
    const requests = new ExecRequests();
    requests.push({ kind: { case: "start", value: { workspace: "w", argv: ["sh", "-c", "echo up; sleep 60"], displayName: "fg", ...always } } });
    const own = emptyResult();
    for await (const response of execs.exec(requests)) {
      collect(own, response);
      if (own.stdout === "up\n") {
        requests.push({ kind: { case: "signal", value: "INT" } });
        own.stdout += "(interrupted)";
      }
    }
    step("fg loop ended");
    expect(own.exit!.status).toBe(ExecStatus.SIGNALLED);
    await quiet();
    expect(await count("fg")).toBe(1);
    // Waiting out its delay (a minute's worth by now: it keeps ending at once): exec kill cancels it.
    const spinner = (await startDetached(execs, ["true"], "", { displayName: "spinner", ...always })).exec!;
    await eventually(async () => ((await count("spinner")) >= 4 ? true : undefined));
    // While it waits, it says when it starts again (docker's "restarting").
    const waiting = await eventually(async () => {
      const exec = (await execs.getExec({ exec: "spinner" })).exec!;
      return exec.restartTime === undefined ? undefined : exec;
    });
    expect(timestampMs(waiting.restartTime!)).toBeGreaterThanOrEqual(timestampMs(waiting.endTime!) + 100);
    step("spinner waiting");
    const cancelled = (await execs.signalExec({ exec: "spinner" })).exec!;
    expect([cancelled.id, cancelled.restartTime]).toEqual([waiting.id, undefined]);
    const after = await count("spinner");
    await quiet();
    expect(await count("spinner")).toBe(after);
    expect(spinner.restartCount).toBe(0);
    // exec restart counts its restarts anew (0), and its policy goes on.
    step("spinner cancelled");
    const anew = (await execs.restartExec({ exec: "spinner" })).exec!;
    expect([anew.restartCount, anew.restartPolicy?.mode]).toEqual([0, RestartMode.ALWAYS]);
    await eventually(async () => ((await count("spinner")) >= after + 2 ? true : undefined));
    // ws stop stops it, running or waiting: nothing starts after.
    step("restarted anew");
    expect((await d.client(WorkspaceService).stopWorkspace({ workspace: "w" })).stopped).toBeGreaterThanOrEqual(1);
    step("ws stopped");
    const stopped = await count("spinner");
    await quiet();
    expect(await count("spinner")).toBe(stopped);
    expect((await d.client(WorkspaceService).getWorkspace({ workspace: "w" })).workspace!.materialization).toBe(Materialization.STOPPED);
  });

  it("WaitExec answers once an exec has ended for good, as docker wait: at once for an ended one; through its policy's restarts and an exec restart to the exec that ended last; a wait a client drops leaves the daemon serving; a stopping daemon ends it", async () => {
    const { d, execs, root } = await withWorkspace();
    const ended = (await execToEnd(execs, "w", ["sh", "-c", "exit 3"])).exec!;
    expect((await execs.waitExec({ exec: ended.id })).exec).toMatchObject({ id: ended.id, status: ExecStatus.EXITED, exitCode: 3 });
    // Fails twice, then succeeds: the wait for the first goes on through both restarts.
    writeFileSync(join(root, "flaky.sh"), 'n=$(cat n 2>/dev/null || echo 0); n=$((n + 1)); echo $n > n; sleep 0.2; [ $n -ge 3 ]\n');
    const first = (await startDetached(execs, ["sh", "flaky.sh"], "", { restartPolicy: { mode: RestartMode.ON_FAILURE } })).exec!;
    const last = (await execs.waitExec({ exec: first.id })).exec!;
    expect([last.id === first.id, last.restartCount, last.status, last.exitCode]).toEqual([false, 2, ExecStatus.EXITED, 0]);
    expect(readFileSync(join(root, "n"), "utf8")).toBe("3\n");
    // An exec restart while one waits: the wait goes on to the new exec, and ends with it.
    const web = (await startDetached(execs, ["sleep", "60"], "", { displayName: "web" })).exec!;
    const waiting = execs.waitExec({ exec: "web" });
    const { exec: again } = await execs.restartExec({ exec: "web", grace: { seconds: 1n } });
    await execs.signalExec({ exec: again!.id, signal: "KILL" });
    expect((await waiting).exec).toMatchObject({ id: again!.id, status: ExecStatus.SIGNALLED, signal: "SIGKILL" });
    expect(web.id).not.toBe(again!.id);
    // A client that gives up its wait: the exec and the daemon go on.
    const sleeper = (await startDetached(execs, ["sleep", "60"], "", { displayName: "sleeper" })).exec!;
    const dropped = new AbortController();
    const given = execs.waitExec({ exec: "sleeper" }, { signal: dropped.signal }).catch((error: unknown) => error);
    setTimeout(() => dropped.abort(), 100);
    expect(String(await given)).toMatch(/abort/i);
    expect((await execs.getExec({ exec: sleeper.id })).exec!.status).toBe(ExecStatus.RUNNING);
    // A daemon that stops under a wait ends it, saying so.
    const underStop = failure(execs.waitExec({ exec: "sleeper" }));
    await new Promise((resolve) => setTimeout(resolve, 100));
    await d.stop();
    const stopped = await underStop;
    expect([stopped.code, stopped.reason]).toEqual([Code.Unavailable, ErrorReason.DAEMON_SHUTTING_DOWN]);
  });

  it("StopExec stops an exec as docker stop: SIGTERM, SIGKILL after the grace to one that ignores it; answered once it has ended; its restart policy does not start it again; an ended one is answered as it is", async () => {
    const { execs } = await withWorkspace();
    const server = (await startDetached(execs, ["sh", "-c", "echo up; sleep 60"], "up", { displayName: "server", restartPolicy: { mode: RestartMode.ALWAYS } })).exec!;
    const stopped = (await execs.stopExec({ exec: "server" })).exec!;
    expect([stopped.id, stopped.status, stopped.signal, stopped.exitCode, stopped.error]).toEqual([server.id, ExecStatus.SIGNALLED, "SIGTERM", 143, ""]);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect((await execs.listExecs({ workspace: "w" })).execs.filter((e) => e.displayName === "server").length).toBe(1);
    // One that ignores SIGTERM gets the grace, then SIGKILL.
    await startDetached(execs, ["sh", "-c", "trap '' TERM; echo up; while :; do sleep 0.1; done"], "up", { displayName: "stubborn" });
    const began = Date.now();
    const killed = (await execs.stopExec({ exec: "stubborn", grace: { nanos: 500_000_000 } })).exec!;
    expect([killed.status, killed.signal]).toEqual([ExecStatus.SIGNALLED, "SIGKILL"]);
    expect(Date.now() - began).toBeGreaterThanOrEqual(450);
    // Ended: as it is, again and again.
    expect((await execs.stopExec({ exec: "stubborn" })).exec).toMatchObject({ id: killed.id, signal: "SIGKILL" });
    // Waiting out its restart delay: not started again.
    const spinner = (await startDetached(execs, ["sh", "-c", "exit 1"], "", { displayName: "spinner", restartPolicy: { mode: RestartMode.ON_FAILURE } })).exec!;
    const waiting = await eventually(async () => {
      const exec = (await execs.getExec({ exec: "spinner" })).exec!;
      return exec.restartTime === undefined || exec.restartCount < 3 ? undefined : exec;
    });
    const held = (await execs.stopExec({ exec: waiting.id })).exec!;
    expect([held.id, held.restartTime, held.exitCode]).toEqual([waiting.id, undefined, 1]);
    const count = (await execs.listExecs({ workspace: "w" })).execs.filter((e) => e.displayName === "spinner").length;
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect((await execs.listExecs({ workspace: "w" })).execs.filter((e) => e.displayName === "spinner").length).toBe(count);
    expect(spinner.restartCount).toBe(0);
  });

  it("a timeout stops an exec that runs too long, as a CI step's: SIGTERM to its group, its error saying so; its restart policy counts it a failure, and a restart keeps it; one that ends in time is untouched; a negative one is refused", async () => {
    const { execs } = await withWorkspace();
    const timeout = { nanos: 400_000_000 };
    const slow = await execToEnd(execs, "w", ["sh", "-c", "echo start; sleep 30 & wait"], { timeout });
    expect([slow.stdout, slow.exit!.status, slow.exit!.signal, slow.exit!.error]).toEqual(["start\n", ExecStatus.SIGNALLED, "SIGTERM", "timed out after 400ms (its --timeout)"]);
    const shown = (await execs.getExec({ exec: slow.exec!.id })).exec!;
    expect([shown.error, shown.timeout?.nanos]).toEqual(["timed out after 400ms (its --timeout)", 400_000_000]);
    const quick = await execToEnd(execs, "w", ["true"], { timeout });
    expect([quick.exit!.status, quick.exit!.error]).toEqual([ExecStatus.EXITED, ""]);
    // on-failure starts it again, with its timeout, up to its limit.
    await startDetached(execs, ["sleep", "30"], "", { displayName: "hang", timeout, restartPolicy: { mode: RestartMode.ON_FAILURE, maxRestarts: 1 } });
    const last = (await execs.waitExec({ exec: "hang" })).exec!;
    expect([last.restartCount, last.signal, last.error, last.timeout?.nanos]).toEqual([1, "SIGTERM", "timed out after 400ms (its --timeout)", 400_000_000]);
    const bad = await failure(startDetached(execs, ["true"], "", { timeout: { seconds: -1n } }));
    expect([bad.code, bad.message]).toEqual([Code.InvalidArgument, "timeout must not be negative"]);
  });

  it("labels tag an exec to find it again: listed by k=v and k selectors (with a workspace, running ones), kept by a restart; bad ones refused", async () => {
    const { execs } = await withWorkspace();
    const job = (await startDetached(execs, ["sleep", "60"], "", { displayName: "job", labels: { job: "42", team: "ml" } })).exec!;
    const other = (await startDetached(execs, ["true"], "", { labels: { job: "43" } })).exec!;
    const plain = (await startDetached(execs, ["sleep", "60"])).exec!;
    expect(job.labels).toEqual({ job: "42", team: "ml" });
    const ids = async (labelSelector: string[], runningOnly = false, workspace = ""): Promise<string[]> => (await execs.listExecs({ labelSelector, runningOnly, workspace })).execs.map((e) => e.id);
    expect(await ids(["job=42"])).toEqual([job.id]);
    expect(await ids(["job"])).toEqual([other.id, job.id]);
    expect(await ids(["job", "team=ml"], false, "w")).toEqual([job.id]);
    await eventually(async () => ((await execs.getExec({ exec: other.id })).exec!.status === ExecStatus.EXITED ? true : undefined));
    expect(await ids(["job"], true)).toEqual([job.id]);
    expect(await ids(["nope"])).toEqual([]);
    expect((await ids([])).length).toBe(3);
    // A restart keeps them.
    const restarted = (await execs.restartExec({ exec: "job", grace: { seconds: 1n } })).exec!;
    expect(restarted.labels).toEqual({ job: "42", team: "ml" });
    expect(await ids(["job=42"], true)).toEqual([restarted.id]);
    const badKey = await failure(startDetached(execs, ["true"], "", { labels: { "bad key": "x" } }));
    expect([badKey.code, badKey.message]).toEqual([Code.InvalidArgument, 'label key "bad key" is not allowed: use 1-63 letters, digits, \'.\', \'_\', \'/\' or \'-\'']);
    const badSelector = await failure(execs.listExecs({ labelSelector: ["="] }));
    expect(badSelector.code).toBe(Code.InvalidArgument);
    await execs.signalExec({ exec: restarted.id, signal: "KILL" });
    await execs.signalExec({ exec: plain.id, signal: "KILL" });
  });

  it("a restart line keeps its newest 10 ended execs: the older go, with their output, as each new one starts", async () => {
    const { execs } = await withWorkspace();
    const first = (await startDetached(execs, ["true"], "", { displayName: "short" })).exec!;
    const started = [first.id];
    for (let i = 0; i < 12; i++) {
      await eventually(async () => ((await execs.getExec({ exec: "short" })).exec!.status === ExecStatus.RUNNING ? undefined : true));
      started.push((await execs.restartExec({ exec: "short" })).exec!.id);
    }
    const kept = await eventually(async () => {
      const line = (await execs.listExecs({ workspace: "w" })).execs.filter((e) => e.displayName === "short").map((e) => e.id);
      return line.length <= 11 ? line : undefined;
    });
    // The newest, and the ten ended before it at the last start (or nine and the newest when it had ended already).
    expect(kept).toEqual(started.slice(-kept.length).reverse());
    expect(kept.length).toBeGreaterThanOrEqual(10);
    expect(kept).not.toContain(first.id);
    expect((await failure(attachToEnd(execs, first.id))).reason).toBe(ErrorReason.EXEC_NOT_FOUND);
  });

  it("an exec whose restart policy is always runs again when the next daemon starts, after a stop or a kill -9 of the last, as docker starts its always containers; on-failure's does not, but a restart it waited for when the daemon crashed is owed", async () => {
    const { d } = await withWorkspace();
    let execs = d.client(ExecService);
    const server = (await startDetached(execs, ["sh", "-c", "echo up; sleep 60"], "up", { displayName: "server", restartPolicy: { mode: RestartMode.ALWAYS }, labels: { role: "web" } })).exec!;
    const job = (await startDetached(execs, ["sh", "-c", "echo up; sleep 60"], "up", { displayName: "job", restartPolicy: { mode: RestartMode.ON_FAILURE } })).exec!;
    const named = async (name: string): Promise<Exec[]> => (await execs.listExecs({ workspace: "w" })).execs.filter((e) => e.displayName === name);
    for (const end of [() => d.stop(), () => d.kill()]) {
      await end();
      await d.restart();
      // A client of its own: the last one's connection went with the daemon.
      execs = d.client(ExecService);
      const line = await named("server");
      expect(line.map((e) => [e.status, e.restartCount])).toEqual([[ExecStatus.RUNNING, line.length - 1], ...line.slice(1).map((e) => [ExecStatus.LOST, e.restartCount])]);
      expect(line[0]!.labels).toEqual({ role: "web" });
      await eventually(async () => ((await attachToEnd(execs, line[0]!.id, 0, true)).stdout === "up\n" ? true : undefined));
    }
    expect((await named("server")).map((e) => e.restartCount)).toEqual([2, 1, 0]);
    expect((await named("server")).at(-1)!.id).toBe(server.id);
    expect((await named("job")).map((e) => [e.id, e.status])).toEqual([[job.id, ExecStatus.LOST]]);
    // A restart that waited when the daemon crashed is owed (in the store): the next daemon starts it, as a session's retry.
    await startDetached(execs, ["sh", "-c", "exit 1"], "", { displayName: "flaky", restartPolicy: { mode: RestartMode.ON_FAILURE } });
    const owed = await eventually(async () => {
      const exec = (await execs.getExec({ exec: "flaky" })).exec!;
      return exec.restartCount >= 2 && exec.restartTime !== undefined ? exec : undefined;
    });
    await d.kill();
    await d.restart();
    await eventually(async () => ((await named("flaky")).some((e) => e.restartCount === owed.restartCount + 1) ? true : undefined));
    await d.client(WorkspaceService).stopWorkspace({ workspace: "w" });
  });

  it("a terminal exec's queries to its terminal are answered by the daemon while no client's terminal is there to (exec -d -t, a script's -t, its client gone), as a PTY's", async () => {
    const { execs } = await withWorkspace();
    // Echo off from the start, as a program that reads answers sets it: an answer that comes before a `read -s` takes
    // effect is not echoed (under load it once was, "^[[0n" before "second:").
    const ask = [
      "stty -echo",
      `show() { printf '%s:%s\\n' "$1" "\${2//$'\\e'/<ESC>}"; }`,
      `printf 'ab\\e[6n\\e[c'; IFS= read -rs -d c -t "$WAIT" x; show first "$x"`,
      `IFS= read -r go; printf '\\e[5n'; IFS= read -rs -d n -t 5 y; show second "$y"`,
      "sleep 60",
    ].join("\n");
    // No client with a terminal: a script's exec -t (no size given).
    const requests = new ExecRequests();
    requests.push({ kind: { case: "start", value: { workspace: "w", argv: ["bash", "-c", ask], env: { WAIT: "5" }, tty: true, stdin: true } } });
    const script = emptyResult();
    for await (const response of execs.exec(requests)) {
      collect(script, response);
      if (script.stdout.includes("first:")) break;
    }
    expect(script.stdout).toContain("ab\x1b[6n\x1b[cfirst:<ESC>[1;3R<ESC>[?1;2\r\n");
    // Its own client on a terminal (it gave the size): that terminal answers, the daemon does not; once it has gone, the daemon does.
    const onTerminal = new ExecRequests();
    // (Nobody answers its first query here: it waits a second for it.)
    onTerminal.push({ kind: { case: "start", value: { workspace: "w", argv: ["bash", "-c", ask], env: { WAIT: "1" }, tty: true, stdin: true, size: { cols: 80, rows: 24 } } } });
    const seen = emptyResult();
    const abort = new AbortController();
    const reading = (async () => {
      for await (const response of execs.exec(onTerminal, { signal: abort.signal })) collect(seen, response);
    })().catch(() => undefined);
    await eventually(() => (seen.stdout.includes("first:") ? true : undefined), 10_000);
    expect(seen.stdout).toContain("ab\x1b[6n\x1b[cfirst:\r\n");
    abort.abort();
    await reading;
    const id = seen.exec!.id;
    await execs.writeExecStdin({ exec: id, text: "go\r" });
    const later = await eventually(async () => {
      const all = await attachToEnd(execs, id, 0, true);
      return all.stdout.includes("second:") ? all.stdout : undefined;
    }, 10_000);
    expect(later).toContain("\x1b[5nsecond:<ESC>[0\r\n");
    await execs.signalExec({ exec: id, signal: "KILL" });
    await execs.signalExec({ exec: script.exec!.id, signal: "KILL" });
  });

  it("reattaches at the last lines of its output, as tail -n counts them, live and after its end; a tail with a byte offset is refused", async () => {
    const { execs } = await withWorkspace();
    const lines = Array.from({ length: 5000 }, (_, i) => `${i + 1}\n`).join("");
    const started = await startDetached(execs, ["sh", "-c", "seq 1 5000; sleep 0.5; printf 'after\\nno newline'"], "5000\n");
    const id = started.exec!.id;
    await eventually(async () => ((await execs.getExec({ exec: id })).exec!.stdoutBytes === BigInt(lines.length) ? true : undefined));
    const tailed = await attachToEnd(execs, id, 0, false, 3);
    expect(tailed.stdout).toBe("4998\n4999\n5000\nafter\nno newline");
    expect(tailed.chunks[0]![0]).toBe(lines.length - "4998\n4999\n5000\n".length);
    expect(tailed.exit!.exitCode).toBe(0);
    const ended = await attachToEnd(execs, id, 0, false, 2);
    expect(ended.stdout).toBe("after\nno newline");
    const none = await attachToEnd(execs, id, 0, false, 0);
    expect([none.stdout, none.exit!.exitCode]).toEqual(["", 0]);
    const all = await attachToEnd(execs, id, 0, false, 100_000);
    expect(all.stdout).toBe(`${lines}after\nno newline`);
    const both = await failure(attachToEnd(execs, id, 10, false, 3));
    expect([both.code, both.message]).toEqual([Code.InvalidArgument, "from_offset and tail_lines cannot be used together: start at a byte offset or at the last lines, not both"]);
  });

  it("a client that reads in bursts during a flood of both streams gets every byte, each chunk continuing where the last ended in the whole output and in its stream", async () => {
    const { execs } = await withWorkspace();
    const [outBytes, errBytes] = [16 * 1024 * 1024, 4 * 1024 * 1024];
    const requests = new ExecRequests();
    requests.push({ kind: { case: "start", value: { workspace: "w", argv: ["sh", "-c", `(yes err | head -c ${errBytes} >&2) & yes out | head -c ${outBytes}; wait`] } } });
    requests.end();
    const r = emptyResult();
    let received = 0;
    let pauseAt = 2 * 1024 * 1024;
    for await (const response of execs.exec(requests)) {
      collect(r, response);
      if (response.kind.case === "output") received += response.kind.value.data.byteLength;
      if (received >= pauseAt) {
        pauseAt += 2 * 1024 * 1024;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
    expect(r.exit!.exitCode).toBe(0);
    expect([r.stdout.length, r.stderr.length]).toEqual([outBytes, errBytes]);
    expect(r.stdout).toBe("out\n".repeat(outBytes / 4));
    expect(r.stderr).toBe("err\n".repeat(errBytes / 4));
    // Each chunk continues where the last ended, in the whole output and in its own stream.
    let next = 0;
    const seams: string[] = [];
    for (const [offset, , length] of r.chunks) {
      if (offset !== next) seams.push(`${next} then ${offset}`);
      next = offset + length;
    }
    expect(seams).toEqual([]);
    const streamSeams = (stream: "stdout" | "stderr"): number => {
      let at = 0;
      let bad = 0;
      const own = r.chunkStreams.map((s, i) => [s, r.chunks[i]!] as const).filter(([s]) => s === stream);
      for (const [, [, streamOffset, length]] of own) {
        if (streamOffset !== at) bad++;
        at = streamOffset + length;
      }
      return bad;
    };
    expect([streamSeams("stdout"), streamSeams("stderr")]).toEqual([0, 0]);
  });

  it("its own client paces it as a pipe's reader would: a client that stops reading holds the command, one that watches does not, one that goes away lets it finish", async () => {
    const { execs } = await withWorkspace();
    const total = 96 * 1024 * 1024;
    const requests = new ExecRequests();
    requests.push({ kind: { case: "start", value: { workspace: "w", argv: ["sh", "-c", `head -c ${total} /dev/zero; echo done >&2`] } } });
    requests.end();
    const abort = new AbortController();
    const own = execs.exec(requests, { signal: abort.signal })[Symbol.asyncIterator]();
    const first = await own.next();
    const id = (first.value as { kind: { value: { exec: { id: string } } } }).kind.value.exec.id;
    // The own client reads nothing more; a watcher reads everything it can meanwhile.
    const watcher = attachToEnd(execs, id).catch(() => undefined);
    const written = async (): Promise<number> => Number((await execs.getExec({ exec: id })).exec!.stdoutBytes);
    try {
      // Held: what it wrote stops growing (the pipe and the socket hold the rest), far below the whole.
      const held = await eventually(async () => {
        const before = await written();
        await new Promise((resolve) => setTimeout(resolve, 400));
        const after = await written();
        return after === before ? after : undefined;
      });
      expect(held).toBeLessThan(total / 3);
      expect((await execs.getExec({ exec: id })).exec!.status).toBe(ExecStatus.RUNNING);
    } finally {
      // The own client goes away: nothing paces the command, which finishes, every byte stored.
      abort.abort();
      await own.return?.(undefined).catch(() => undefined);
    }
    await eventually(async () => ((await execs.getExec({ exec: id })).exec!.status === ExecStatus.EXITED ? true : undefined));
    expect(await written()).toBe(total);
    const watched = await watcher;
    expect(watched?.stdout.length).toBe(total);
    expect(watched?.stderr).toBe("done\n");
  });

  it("signals the process group; a signal to an ended exec, an unknown signal and a bad resize are refused clearly", async () => {
    const { execs } = await withWorkspace();
    const started = await startDetached(execs, ["sh", "-c", "echo up; sleep 60"], "up");
    const id = started.exec!.id;
    await execs.signalExec({ exec: id, signal: "TERM" });
    const ended = await attachToEnd(execs, id);
    expect([ended.exit!.status, ended.exit!.signal, ended.exit!.exitCode]).toEqual([ExecStatus.SIGNALLED, "SIGTERM", 143]);
    const late = await failure(execs.signalExec({ exec: id, signal: "KILL" }));
    expect([late.code, late.reason]).toEqual([Code.FailedPrecondition, ErrorReason.EXEC_NOT_LIVE]);
    expect(late.message).toMatch(/has ended/);

    const other = await startDetached(execs, ["sleep", "60"]);
    const unknown = await failure(execs.signalExec({ exec: other.exec!.id, signal: "SIGNOPE" }));
    expect([unknown.code, unknown.message]).toEqual([Code.InvalidArgument, expect.stringMatching(/unknown signal/)]);
    await execs.signalExec({ exec: other.exec!.id, signal: "9" });

    for (const size of [{ cols: 0, rows: 0 }, { cols: 5000, rows: 10 }]) {
      const requests = new ExecRequests();
      requests.push({ kind: { case: "start", value: { workspace: "w", argv: ["sleep", "5"], tty: true } } });
      requests.push({ kind: { case: "resize", value: size } });
      const bad = await failure((async () => { for await (const _ of execs.exec(requests)); })());
      expect([bad.code, bad.message]).toEqual([Code.InvalidArgument, expect.stringMatching(/1-1000/)]);
      requests.end();
    }
    const badStart = await failure(execs.getExec({ exec: "e-nope" }));
    expect([badStart.code, badStart.reason]).toEqual([Code.NotFound, ErrorReason.EXEC_NOT_FOUND]);
  });

  it("a command found but unable to run says why, where the kernel says only EACCES or ENOENT, with a shell's exit code (126, or 127)", async () => {
    const { d, execs, root } = await withWorkspace();
    mkdirSync(join(root, "a-dir"));
    writeFileSync(join(root, "not-executable.sh"), "echo hi\n", { mode: 0o644 });
    writeFileSync(join(root, "no-interpreter.sh"), "#!/no/such/interpreter -x\necho hi\n", { mode: 0o755 });
    writeFileSync(join(root, "windows.sh"), "#!/bin/sh\r\necho hi\r\n", { mode: 0o755 });
    writeFileSync(join(root, "fine.sh"), "#! /bin/sh\necho fine\n", { mode: 0o755 });
    const ends = async (argv: string[], env: Record<string, string> = {}) => {
      const { exit, stdout } = await execToEnd(execs, "w", argv, { env });
      return [exit!.status, exit!.exitCode, exit!.error, stdout];
    };
    expect(await ends([join(root, "a-dir")])).toEqual([ExecStatus.FAILED_TO_START, 126, `spawn ${join(root, "a-dir")} EACCES: is a directory`, ""]);
    expect(await ends(["./not-executable.sh"])).toEqual([ExecStatus.FAILED_TO_START, 126, "spawn ./not-executable.sh EACCES: permission denied", ""]);
    expect(await ends(["./no-interpreter.sh"])).toEqual([ExecStatus.FAILED_TO_START, 127, "spawn ./no-interpreter.sh ENOENT: its interpreter /no/such/interpreter (on its #! line) does not exist", ""]);
    expect(await ends(["./windows.sh"])).toEqual([
      ExecStatus.FAILED_TO_START,
      127,
      `spawn ./windows.sh ENOENT: its #! line ends in a carriage return (Windows line endings), so its interpreter is "/bin/sh\\r", which does not exist: convert the file with sed -i 's/\\r$//' ${join(root, "windows.sh")}`,
      "",
    ]);
    expect(await ends(["./fine.sh"])).toEqual([ExecStatus.EXITED, 0, "", "fine\n"]);
    // On PATH, as execvp: a directory of the command's name is passed over for the program after it.
    mkdirSync(join(root, "bin", "true"), { recursive: true });
    expect(await ends(["true"], { PATH: `${join(root, "bin")}:/usr/bin:/bin` })).toEqual([ExecStatus.EXITED, 0, "", ""]);
    expect(await ends(["true"], { PATH: join(root, "bin") })).toEqual([ExecStatus.FAILED_TO_START, 126, "spawn true EACCES: is a directory", ""]);
    // A terminal is refused before it opens, with the same words.
    const pty = await failure(d.client(PtyService).createPty({ spec: { workspace: "w", argv: ["./windows.sh"] } }));
    expect([pty.code, pty.message]).toEqual([Code.InvalidArgument, expect.stringContaining("cannot start ./windows.sh: spawn ./windows.sh ENOENT: its #! line ends in a carriage return")]);
  });

  it("a missing command ends at once with the OS error; cwd escapes by .. or symlink are refused; a first message that is not start is refused", async () => {
    const { execs, root } = await withWorkspace();
    const missing = await execToEnd(execs, "w", ["no-such-command-xyz"]);
    expect([missing.exit!.status, missing.exit!.exitCode]).toEqual([ExecStatus.FAILED_TO_START, 127]);
    expect(missing.exit!.error).toMatch(/no-such-command-xyz ENOENT/);
    // One argument or variable past the 128 KiB Linux passes in one: which, and what to do (E2BIG said neither).
    const longArg = await execToEnd(execs, "w", ["echo", "a".repeat(200_000)]);
    expect([longArg.exit!.status, longArg.exit!.error]).toEqual([ExecStatus.FAILED_TO_START, expect.stringContaining("spawn echo: an argument is 200000 bytes, over the 128 KiB Linux passes to a program in one (MAX_ARG_STRLEN)")]);
    const longVar = await execToEnd(execs, "w", ["true"], { env: { BIG: "b".repeat(200_000) } });
    expect(longVar.exit!.error).toContain('spawn true: the environment variable "BIG" is 200004 bytes with its name, over the 128 KiB');
    // Together past ARG_MAX: E2BIG, explained.
    const many = await execToEnd(execs, "w", ["true"], { env: Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`V${i}`, "v".repeat(100_000)])) });
    expect(many.exit!.error).toContain("spawn true E2BIG: the arguments and environment together are over what Linux passes to a program (ARG_MAX");

    symlinkSync("/etc", join(root, "etc-link"));
    for (const cwd of ["..", "etc-link", "/etc", "nope"]) {
      const f = await failure(execToEnd(execs, "w", ["pwd"], { cwd }));
      expect([f.code, f.reason]).toEqual([Code.InvalidArgument, ErrorReason.PATH_NOT_ALLOWED]);
    }
    const empty = await failure(execToEnd(execs, "w", []));
    expect(empty.code).toBe(Code.InvalidArgument);
    const requests = new ExecRequests();
    requests.push({ kind: { case: "stdin", value: Buffer.from("x") } });
    requests.end();
    const notStart = await failure((async () => { for await (const _ of execs.exec(requests)); })());
    expect([notStart.code, notStart.message]).toEqual([Code.InvalidArgument, expect.stringMatching(/first Exec message must be `start`/)]);
  });

  it("runs under a terminal with tty, and resizes it", async () => {
    const { execs } = await withWorkspace();
    const requests = new ExecRequests();
    requests.push({ kind: { case: "start", value: { workspace: "w", argv: ["sh", "-c", "tty; stty size; read line; stty size"], tty: true, size: { cols: 100, rows: 30 }, stdin: true } } });
    const result = emptyResult();
    let resized = false;
    for await (const response of execs.exec(requests)) {
      collect(result, response);
      if (!resized && result.stdout.includes("30 100")) {
        resized = true;
        requests.push({ kind: { case: "resize", value: { cols: 120, rows: 40 } } });
        requests.push({ kind: { case: "stdin", value: Buffer.from("go\r") } });
      }
    }
    expect(result.stdout).toMatch(/^\/dev\/pts\/\d+\r\n30 100\r\n/);
    expect(result.stdout).toMatch(/40 120\r\n$/);
    expect(result.exit!.exitCode).toBe(0);
  });

  it("a fast producer piping into a slow command loses no byte and does not grow the daemon's memory by what it sends", async () => {
    const { d, execs } = await withWorkspace();
    const before = vmHwmBytes(d.process.pid!);
    const total = 256 * 1024 * 1024;
    const chunk = Buffer.alloc(256 * 1024, 0x61);
    const requests = new ExecRequests();
    requests.push({ kind: { case: "start", value: { workspace: "w", argv: ["sh", "-c", "sleep 2; exec wc -c"], stdin: true } } });
    const result = emptyResult();
    const call = (async () => {
      for await (const response of execs.exec(requests)) collect(result, response);
    })();
    // Push only as fast as the call takes it: connect-es queues in memory otherwise, and this measures the daemon, not the test.
    for (let sent = 0; sent < total; sent += chunk.byteLength) {
      requests.push({ kind: { case: "stdin", value: chunk } });
      await new Promise((r) => setImmediate(r));
    }
    requests.push({ kind: { case: "closeStdin", value: true } });
    requests.end();
    await call;
    expect(result.stdout.trim()).toBe(String(total));
    const grew = vmHwmBytes(d.process.pid!) - before;
    expect(grew).toBeLessThan(total / 2);
  });

  it("after kill -9 of the daemon, a running exec is recorded lost, its process is stopped, and its output so far stays readable", async () => {
    const { d, execs } = await withWorkspace();
    const started = await startDetached(execs, ["sh", "-c", "echo oops >&2; echo before; sleep 60"], "before");
    await d.kill();
    await d.restart();
    const lost = (await execs.getExec({ exec: started.exec!.id })).exec!;
    expect(lost.status).toBe(ExecStatus.LOST);
    expect(lost.error).toMatch(/daemon was not running/);
    // What it wrote is counted from the store (the daemon that counted it is gone).
    expect([lost.stdoutBytes, lost.stderrBytes]).toEqual([7n, 5n]);
    await eventually(() => (alive(started.exec!.pid) ? undefined : true));
    const read = await attachToEnd(execs, started.exec!.id);
    expect(read.stdout).toBe("before\n");
    expect(read.stderr).toBe("oops\n");
    expect(read.exit!.status).toBe(ExecStatus.LOST);
  });

  it("natively, a process is the daemon's own child (posix_spawn, no fork); with TETHER_NATIVE_SPAWN=0 a process starter forks it, and if that dies its processes are killed and reported, and the next exec starts", async () => {
    const native = await withWorkspace();
    const own = await startDetached(native.execs, ["sh", "-c", "echo before; sleep 60"], "before");
    expect(parentOf(own.exec!.pid)).toBe(native.d.process.pid);
    await native.execs.signalExec({ exec: own.exec!.id, signal: "SIGKILL" });
    const d = await daemon({ TETHER_NATIVE_SPAWN: "0" });
    await d.client(WorkspaceService).createWorkspace({ displayName: "w" });
    const execs = d.client(ExecService);
    const started = await startDetached(execs, ["sh", "-c", "echo before; sleep 60"], "before");
    const pid = started.exec!.pid;
    const starter = parentOf(pid);
    expect(starter).not.toBe(d.process.pid);
    expect(parentOf(starter)).toBe(d.process.pid);
    process.kill(starter, "SIGKILL");
    const ended = await attachToEnd(execs, started.exec!.id);
    expect([ended.exit!.status, ended.exit!.signal]).toEqual([ExecStatus.SIGNALLED, "SIGKILL"]);
    expect(ended.stdout).toBe("before\n");
    await eventually(() => (alive(pid) ? undefined : true));
    const after = await execToEnd(execs, "w", ["echo", "after"]);
    expect([after.stdout, after.exit!.exitCode]).toEqual(["after\n", 0]);
  });

  it("started natively (posix_spawn) or, with TETHER_NATIVE_SPAWN=0, by Node: the same session, stdio, errors and ends; natively no stray descriptor", async () => {
    for (const native of [undefined, "0"]) {
      const d = await daemon(native === undefined ? {} : { TETHER_NATIVE_SPAWN: native });
      const root = (await d.client(WorkspaceService).createWorkspace({ displayName: "w" })).workspace!.root;
      const execs = d.client(ExecService);
      // Its own session and process group; stdio the program can block on (a non-blocking
      // stdin would fail `wc` with EAGAIN); nothing open but 0-2 (and ls's own directory, 3).
      // The normal scheduling policy (field 41; the daemon's spawning thread runs as a batch thread).
      // Natively stdout and stderr are pipes (as a shell gives), stdin a socket; Node's spawn gives sockets throughout.
      const check =
        'read -r _ _ _ _ pgid sid _ < /proc/$$/stat; echo "pid=$$ pgid=$pgid sid=$sid $(cut -d" " -f41 /proc/$$/stat)"; ' +
        'for fd in 0 1 2; do stat -L -c %F /proc/$$/fd/$fd; done | tr "\\n" " "; echo; ls /proc/self/fd | tr "\\n" " "; wc -c';
      const r = await execToEnd(execs, "w", ["sh", "-c", check], { stdin: "z".repeat(300_000) });
      const pid = r.exec!.pid;
      const [ids, kinds, fds] = r.stdout.split("\n");
      expect(ids).toBe(`pid=${pid} pgid=${pid} sid=${pid} 0`);
      expect(kinds).toBe(native === undefined ? "socket fifo fifo " : "socket socket socket ");
      // Node's spawn lets one of the starter's own descriptors through; posix_spawn closes all of the daemon's.
      if (native === undefined) expect(fds).toBe("0 1 2 3 300000");
      else expect(fds).toMatch(/^0 1 2 (\d+ )+300000$/);
      expect([r.exit!.status, r.exit!.exitCode]).toEqual([ExecStatus.EXITED, 0]);
      const killed = await execToEnd(execs, "w", ["sh", "-c", "kill -TERM $$"]);
      expect([killed.exit!.status, killed.exit!.signal]).toEqual([ExecStatus.SIGNALLED, "SIGTERM"]);
      const missing = await execToEnd(execs, "w", ["no-such-command-xyz"]);
      expect([missing.exit!.status, missing.exit!.error]).toEqual([ExecStatus.FAILED_TO_START, expect.stringMatching(/spawn no-such-command-xyz ENOENT/)]);
      // A C string ends at its first NUL: refused, not cut short.
      const nul = await execToEnd(execs, "w", ["true"], { env: { BAD: "a\0b" } });
      expect([nul.exit!.status, nul.exit!.error]).toEqual([ExecStatus.FAILED_TO_START, expect.stringMatching(/NUL byte|null bytes/)]);
      // An executable file without a #! line runs under /bin/sh, as execvp runs it.
      writeFileSync(join(root, "no-shebang"), 'echo "plain script $1"\n', { mode: 0o755 });
      const script = await execToEnd(execs, "w", ["./no-shebang", "ok"]);
      expect([script.stdout, script.exit!.exitCode]).toEqual(["plain script ok\n", 0]);
    }
  });

  // Needs a small file system of its own: a tmpfs, which only root may mount (CI runs as root).
  it.skipIf(!CAN_FILL_A_DISK)("on a full disk an exec whose output cannot all be stored ends at once with STORE_FAILED naming what was lost, and the daemon goes on serving", () =>
    onSmallDisk(async (d) => {
      await d.client(WorkspaceService).createWorkspace({ displayName: "w" });
      const execs = d.client(ExecService);
      const f = await failure(execToEnd(execs, "w", ["head", "-c", "200000000", "/dev/zero"]));
      expect([f.code, f.reason]).toEqual([Code.Unavailable, ErrorReason.STORE_FAILED]);
      expect(f.message).toMatch(/^exec e-\w+: \d+ bytes of output could not be stored \(.*ENOSPC.*\) and are lost; the command ran on: free disk space/);
      // What was stored reads back; the daemon answers as before.
      const [stored] = (await execs.listExecs({ workspace: "w", pageSize: 1 })).execs;
      const back = await attachToEnd(execs, stored!.id, 0, true);
      expect(back.stdout.length).toBeGreaterThan(1024 * 1024);
      // Once it has ended, its record says so too, for whoever reads it later.
      const ended = await eventually(async () => {
        const e = (await execs.getExec({ exec: stored!.id })).exec!;
        return e.status === ExecStatus.RUNNING ? undefined : e;
      });
      expect([ended.status, ended.exitCode]).toEqual([ExecStatus.EXITED, 0]);
      expect(ended.error).toMatch(/^\d+ bytes of output could not be stored \(.*ENOSPC.*\)$/);
      const cli = spawnSync(process.execPath, [CLI_ENTRY, "exec", "attach", stored!.id, "--from", String(back.stdout.length - 3)], { env: d.env, encoding: "latin1" });
      expect([cli.status, cli.stdout.length, cli.stderr]).toEqual([0, 3, `tether: ${ended.error}\n`]);
      expect((await d.client(DaemonService).getDaemonInfo({})).daemon?.pid).toBe(d.process.pid);
    }),
    60_000,
  );

  it("a client that goes away leaves stdin open: a script writes to it (over curl too) and closes it; bad writes are refused", async () => {
    const { d, execs } = await withWorkspace();
    const started = await startDetached(execs, ["sh", "-c", "echo ready; while read l; do echo \"got $l\"; done; echo eof"], "ready", { stdin: true });
    const id = started.exec!.id;
    expect((await execs.writeExecStdin({ exec: id.slice(0, 4), text: "one\n" })).exec!.id).toBe(id);
    const body = JSON.stringify({ exec: id, text: "two\n" });
    const curl = spawnSync("curl", ["-s", "--unix-socket", d.socketPath, "-H", "Content-Type: application/json", "-d", body, "http://localhost/tether.v1.ExecService/WriteExecStdin"], { encoding: "utf8" });
    expect(JSON.parse(curl.stdout).exec).toMatchObject({ id, status: "EXEC_STATUS_RUNNING" });
    const empty = await failure(execs.writeExecStdin({ exec: id }));
    expect([empty.code, empty.message]).toEqual([Code.InvalidArgument, "give bytes to write (data or text), or close the exec's stdin"]);
    const big = await failure(execs.writeExecStdin({ exec: id, data: Buffer.alloc(1024 * 1024 + 1) }));
    expect([big.code, big.message]).toEqual([Code.InvalidArgument, "one write to an exec's stdin holds at most 1048576 bytes: send more in several"]);
    await execs.writeExecStdin({ exec: id, data: Buffer.from("three\n"), close: true });
    const whole = await attachToEnd(execs, id);
    expect(whole.stdout).toBe("ready\ngot one\ngot two\ngot three\neof\n");
    const ended = await failure(execs.writeExecStdin({ exec: id, text: "late" }));
    expect([ended.code, ended.reason]).toEqual([Code.FailedPrecondition, ErrorReason.EXEC_NOT_LIVE]);

    const noStdin = (await startDetached(execs, ["sleep", "30"])).exec!.id;
    const refused = await failure(execs.writeExecStdin({ exec: noStdin, text: "x" }));
    expect([refused.code, refused.reason]).toEqual([Code.FailedPrecondition, ErrorReason.STDIN_CLOSED]);
    expect(refused.message).toBe(`exec ${noStdin}'s stdin is closed (or it was started without one, as exec -d is unless -i): nothing more can be written to it`);
    await execs.signalExec({ exec: noStdin, signal: "KILL" });
  });

  it("scripts writing to a command that never reads its stdin wait their turn, the ninth is refused, and the command's end answers the waiting ones", async () => {
    const { execs } = await withWorkspace();
    const id = (await startDetached(execs, ["sleep", "600"], "", { stdin: true })).exec!.id;
    const settled: string[] = [];
    const write = (data: Uint8Array, i: number): Promise<unknown> =>
      execs.writeExecStdin({ exec: id, data }).then(
        () => settled.push(`ok ${i}`),
        (e: unknown) => settled.push(`error ${i}: ${(e as Error).message}`),
      );
    // The daemon takes one MiB ahead of a command's stdin; the next waits for it to drain, which never comes.
    const mib = Buffer.alloc(1024 * 1024, 0x61);
    await execs.writeExecStdin({ exec: id, data: mib });
    const waiting = [write(mib, 0)];
    // Small writes go through until that one is in; from then on each waits its turn.
    for (let i = 1; waiting.length === 1; i++) {
      expect(i).toBeLessThan(50);
      const small = write(Buffer.from("b"), i);
      const done = await Promise.race([small.then(() => true), new Promise((resolve) => setTimeout(() => resolve(false), 1_000))]);
      if (!done) waiting.push(small);
    }
    settled.length = 0;
    for (let i = 2; i < 8; i++) waiting.push(write(Buffer.from("b"), i));
    // A call after them on the same connection: the daemon has taken the eight by its answer.
    await execs.getExec({ exec: id });
    const ninth = await failure(execs.writeExecStdin({ exec: id, text: "c" }));
    expect([ninth.code, ninth.reason]).toEqual([Code.ResourceExhausted, ErrorReason.INPUT_FULL]);
    expect(ninth.message).toContain(`exec ${id} already has 8 writes waiting: its command is not reading its stdin`);
    expect(settled).toEqual([]);
    await execs.signalExec({ exec: id, signal: "KILL" });
    await Promise.all(waiting);
    expect(settled.length).toBe(8);
  });

  it("curl reads an exec, its output and its exit, over the Connect protocol's JSON", async () => {
    const { d, execs } = await withWorkspace();
    const done = await execToEnd(execs, "w", ["echo", "hello"]);
    const body = JSON.stringify({ exec: done.exec!.id });
    const envelope = Buffer.concat([Buffer.from([0, 0, 0, 0, body.length]), Buffer.from(body)]);
    const r = spawnSync("curl", ["-s", "--unix-socket", d.socketPath, "-H", "Content-Type: application/connect+json", "--data-binary", "@-", "http://localhost/tether.v1.ExecService/AttachExec"], { input: envelope });
    const text = r.stdout.toString("latin1");
    expect(text).toContain(`"data":"${Buffer.from("hello\n").toString("base64")}"`);
    expect(text).toContain('"exit":{"status":"EXEC_STATUS_EXITED"}');
    const got = spawnSync("curl", ["-s", "--unix-socket", d.socketPath, "-H", "Content-Type: application/json", "-d", body, "http://localhost/tether.v1.ExecService/GetExec"], { encoding: "utf8" });
    expect(JSON.parse(got.stdout).exec).toMatchObject({ id: done.exec!.id, argv: ["echo", "hello"], status: "EXEC_STATUS_EXITED", stdoutBytes: "6" });
  });
});
