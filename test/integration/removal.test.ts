import { Code, type Client } from "@connectrpc/connect";
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ErrorReason } from "../../gen/tether/v1/errors_pb.js";
import type { Exec } from "../../gen/tether/v1/exec_pb.js";
import { ExecService } from "../../gen/tether/v1/exec_service_pb.js";
import { PtyService } from "../../gen/tether/v1/pty_service_pb.js";
import { SessionStatus } from "../../gen/tether/v1/session_pb.js";
import { SessionService } from "../../gen/tether/v1/session_service_pb.js";
import { StreamService } from "../../gen/tether/v1/stream_service_pb.js";
import { WorkspaceService } from "../../gen/tether/v1/workspace_service_pb.js";
import { CLI_ENTRY, daemonPerTest, type TestDaemon } from "../helpers/daemon.js";
import { failure } from "../helpers/errors.js";
import { ExecRequests, collect, emptyResult, execToEnd } from "../helpers/execs.js";
import { eventually, logText, waitQuiet, writeTaskFile } from "../helpers/sessions.js";

const daemon = daemonPerTest();

async function withWorkspace(name = "w"): Promise<{ d: TestDaemon; execs: Client<typeof ExecService> }> {
  const d = await daemon();
  await d.client(WorkspaceService).createWorkspace({ displayName: name });
  return { d, execs: d.client(ExecService) };
}

/** Starts an exec and detaches (the call is cancelled) once it runs. */
async function startDetached(execs: Client<typeof ExecService>, workspace: string, argv: string[]): Promise<Exec> {
  const requests = new ExecRequests();
  requests.push({ kind: { case: "start", value: { workspace, argv } } });
  requests.end();
  const detach = new AbortController();
  for await (const r of execs.exec(requests, { signal: detach.signal })) {
    if (r.kind.case !== "started") continue;
    detach.abort();
    return r.kind.value.exec!;
  }
  throw new Error(`${argv.join(" ")} did not start`);
}

/** The data files under the state dir's output directory, and their bytes on disk. */
function outputFiles(d: TestDaemon): { names: string[]; bytes: number } {
  const dir = join(d.home, "output");
  const names = existsSync(dir) ? readdirSync(dir) : [];
  // A file the daemon deletes between the listing and its stat counts nothing.
  return { names, bytes: names.reduce((n, name) => n + (statSync(join(dir, name), { throwIfNoEntry: false })?.blocks ?? 0) * 512, 0) };
}

describe("removing sessions, execs and PTYs", () => {
  it("tether exec rm removes an ended exec with its output, freeing its disk space; the exec is gone from every call", async () => {
    const { d, execs } = await withWorkspace();
    const big = await execToEnd(execs, "w", ["sh", "-c", "head -c 40000000 /dev/zero; echo err >&2"]);
    const small = await execToEnd(execs, "w", ["echo", "kept"]);
    const before = outputFiles(d);
    expect(before.bytes).toBeGreaterThan(40_000_000);

    const removed = await execs.deleteExec({ exec: big.exec!.id });
    expect(removed.exec!.id).toBe(big.exec!.id);
    expect(removed.outputBytes).toBe(40_000_004n);
    await eventually(() => (outputFiles(d).bytes < before.bytes - 39_000_000 ? true : undefined));

    for (const call of [execs.getExec({ exec: big.exec!.id }), execs.deleteExec({ exec: big.exec!.id })]) {
      expect(await failure(call)).toMatchObject({ code: Code.NotFound, reason: ErrorReason.EXEC_NOT_FOUND });
    }
    const attach = await failure((async () => {
      for await (const _ of execs.attachExec({ exec: big.exec!.id })) void _;
    })());
    expect(attach.code).toBe(Code.NotFound);
    const listed = (await execs.listExecs({ workspace: "w" })).execs.map((e) => e.id);
    expect(listed).toEqual([small.exec!.id]);
    // The other exec is untouched.
    const again = emptyResult();
    for await (const r of execs.attachExec({ exec: small.exec!.id })) collect(again, r);
    expect(again.stdout).toBe("kept\n");

    // The removal was acknowledged: it holds after kill -9 of the daemon.
    await d.kill();
    await d.restart();
    expect(await failure(execs.getExec({ exec: big.exec!.id }))).toMatchObject({ code: Code.NotFound });
    expect((await execs.getExec({ exec: small.exec!.id })).exec!.stdoutBytes).toBe(5n);
  });

  it("a running exec is refused with STILL_RUNNING and goes on; once killed it can go", async () => {
    const { execs } = await withWorkspace();
    const requests = new ExecRequests();
    requests.push({ kind: { case: "start", value: { workspace: "w", argv: ["sh", "-c", "echo up; sleep 60"] } } });
    requests.end();
    const started = emptyResult();
    const detach = new AbortController();
    for await (const r of execs.exec(requests, { signal: detach.signal })) {
      collect(started, r);
      if (started.stdout === "up\n") break;
    }
    detach.abort();
    const id = started.exec!.id;
    const refused = await failure(execs.deleteExec({ exec: id }));
    expect(refused).toMatchObject({ code: Code.FailedPrecondition, reason: ErrorReason.STILL_RUNNING });
    expect(refused.message).toContain(`tether exec kill ${id}`);
    expect((await execs.getExec({ exec: id })).exec!.pid).toBeGreaterThan(0);

    await execs.signalExec({ exec: id, signal: "KILL" });
    await eventually(async () => ((await execs.getExec({ exec: id })).exec!.endTime !== undefined ? true : undefined));
    expect((await execs.deleteExec({ exec: id })).outputBytes).toBe(3n);
  });

  it("a reader in the middle of a removed exec's output ends with JOURNAL_REMOVED, not with bytes of another", async () => {
    const { execs } = await withWorkspace();
    const big = await execToEnd(execs, "w", ["head", "-c", "64000000", "/dev/zero"]);
    const reader = execs.attachExec({ exec: big.exec!.id })[Symbol.asyncIterator]();
    await reader.next(); // the exec
    await reader.next(); // its first output
    await execs.deleteExec({ exec: big.exec!.id });
    let bytes = 0;
    const ended = await failure((async () => {
      for (;;) {
        const next = await reader.next();
        if (next.done === true) return;
        if (next.value.kind.case === "output") bytes += next.value.kind.value.data.byteLength;
      }
    })());
    expect(ended).toMatchObject({ code: Code.NotFound, reason: ErrorReason.JOURNAL_REMOVED });
    expect(bytes).toBeLessThan(64_000_000);
  });

  it("tether pty rm removes a closed PTY and its output; an open one is refused", async () => {
    const d = await daemon();
    await d.client(WorkspaceService).createWorkspace({ displayName: "w" });
    const ptys = d.client(PtyService);
    const { pty } = await ptys.createPty({ spec: { workspace: "w", argv: ["sh", "-c", "echo hello; sleep 60"] } });
    expect(await failure(ptys.deletePty({ pty: pty!.id }))).toMatchObject({ code: Code.FailedPrecondition, reason: ErrorReason.STILL_RUNNING });
    await ptys.closePty({ pty: pty!.id, grace: { seconds: 1n } });
    const removed = await ptys.deletePty({ pty: pty!.id });
    expect(removed.outputBytes).toBeGreaterThanOrEqual(6n);
    expect(await failure(ptys.getPty({ pty: pty!.id }))).toMatchObject({ code: Code.NotFound, reason: ErrorReason.PTY_NOT_FOUND });
  });

  it("tether ws rm takes the workspace's execs and PTYs with their output; another workspace's stay", async () => {
    const { d, execs } = await withWorkspace("gone");
    await d.client(WorkspaceService).createWorkspace({ displayName: "kept" });
    const ptys = d.client(PtyService);
    const doomed = await execToEnd(execs, "gone", ["head", "-c", "20000000", "/dev/zero"]);
    const running = await startDetached(execs, "gone", ["sleep", "60"]);
    const { pty } = await ptys.createPty({ spec: { workspace: "gone", argv: ["sleep", "60"] } });
    const kept = await execToEnd(execs, "kept", ["echo", "still here"]);
    const before = outputFiles(d).bytes;

    await d.client(WorkspaceService).deleteWorkspace({ workspace: "gone", force: true });
    for (const id of [doomed.exec!.id, running.id]) expect(await failure(execs.getExec({ exec: id }))).toMatchObject({ code: Code.NotFound });
    expect(await failure(ptys.getPty({ pty: pty!.id }))).toMatchObject({ code: Code.NotFound });
    expect((await execs.listExecs({})).execs.map((e) => e.id)).toEqual([kept.exec!.id]);
    await eventually(() => (outputFiles(d).bytes < before - 19_000_000 ? true : undefined));
  });

  it("at start, the daemon deletes output files no journal holds (left by a daemon killed between a removal's commit and their deletion)", async () => {
    const { d, execs } = await withWorkspace();
    const kept = await execToEnd(execs, "w", ["echo", "kept"]);
    await d.stop();
    const stray = join(d.home, "output", "999999.0");
    writeFileSync(stray, Buffer.alloc(1 << 20));
    const held = outputFiles(d).names.filter((name) => name !== "999999.0");
    expect(held.length).toBeGreaterThan(0);
    await d.restart();
    await eventually(() => (existsSync(stray) ? undefined : true));
    expect(outputFiles(d).names.sort()).toEqual(held.sort());
    const again = emptyResult();
    for await (const r of execs.attachExec({ exec: kept.exec!.id })) collect(again, r);
    expect(again.stdout).toBe("kept\n");
  });

  it("the CLI removes several at once, says what each freed, and goes on past one it cannot remove (exit 1)", async () => {
    const { d, execs } = await withWorkspace();
    const a = await execToEnd(execs, "w", ["head", "-c", "3000", "/dev/zero"]);
    const b = await execToEnd(execs, "w", ["echo", "hi"]);
    const env = { ...process.env, TETHER_HOME: d.home, TETHER_SOCKET: d.socketPath };
    const out = spawnSync(process.execPath, [CLI_ENTRY, "exec", "rm", a.exec!.id, "e-nosuch", b.exec!.id], { env, encoding: "utf8" });
    expect(out.stdout).toBe(`removed ${a.exec!.id} (2.9 KiB of output)\nremoved ${b.exec!.id} (3 B of output)\n`);
    expect(out.stderr).toBe('tether: no exec "e-nosuch": tether exec ls lists them\n');
    expect(out.status).toBe(1);
    expect((await execs.listExecs({})).execs).toEqual([]);
  });

  it("tether rm removes an ended session with its runs, output, streams and xcom; an open one is refused; its external id is free again", async () => {
    const d = await daemon();
    const sessions = d.client(SessionService);
    const file = writeTaskFile(`tasks:
  big:
    cmd: head -c 30000000 /dev/zero; tether xcom set k v; tether output events '{"n":1}'
    streams: { events: output, approval: input }
  other:
    cmd: echo other
  hold:
    cmd: tether wait approval
    streams: { approval: input }
`);
    const { session } = await sessions.startSession({ task: "big", taskFile: file, externalId: "job-1" });
    await d.client(StreamService).sendInput({ session: session!.name, stream: "approval", text: "{}", idempotencyKey: "k" });
    expect((await waitQuiet(sessions, session!.id)).status).toBe(SessionStatus.CLOSED);
    const { session: other } = await sessions.startSession({ task: "other", taskFile: file });
    await waitQuiet(sessions, other!.id);
    const { session: open } = await sessions.startSession({ task: "hold", taskFile: file });
    const before = outputFiles(d).bytes;

    const refused = await failure(sessions.deleteSession({ name: open!.name }));
    expect(refused).toMatchObject({ code: Code.FailedPrecondition, reason: ErrorReason.STILL_RUNNING });
    expect(refused.message).toContain(`tether cancel ${open!.id}`);

    const removed = await sessions.deleteSession({ name: session!.name });
    expect(removed.session!.id).toBe(session!.id);
    expect(removed.outputBytes).toBeGreaterThan(30_000_000n);
    for (const call of [sessions.getSession({ name: session!.name }), sessions.listRuns({ parent: session!.name }), logText(sessions, session!.id)]) {
      expect(await failure(call)).toMatchObject({ code: Code.NotFound, reason: ErrorReason.SESSION_NOT_FOUND });
    }
    expect((await sessions.listSessions({})).sessions.map((s) => s.id).sort()).toEqual([other!.id, open!.id].sort());
    await eventually(() => (outputFiles(d).bytes < before - 29_000_000 ? true : undefined));

    // Acknowledged, so it holds after kill -9; the other session is whole, and the external id starts a new session.
    await d.kill();
    await d.restart();
    expect(await failure(sessions.getSession({ name: session!.name }))).toMatchObject({ code: Code.NotFound });
    expect((await logText(sessions, other!.id)).stdout).toBe("other\n");
    const again = await sessions.startSession({ task: "other", taskFile: file, externalId: "job-1" });
    expect(again.alreadyExisted).toBe(false);
    expect(again.session!.id).not.toBe(session!.id);
  });

  it("tether rm --ended removes every ended session (of a task, ended long enough ago), never an open one, and says what went", async () => {
    const d = await daemon();
    const sessions = d.client(SessionService);
    const file = writeTaskFile(`tasks:
  a:
    cmd: echo a
  b:
    cmd: echo bb
  hold:
    cmd: sleep 60
`);
    const ended = async (task: string): Promise<string> => {
      const { session } = await sessions.startSession({ task, taskFile: file });
      await waitQuiet(sessions, session!.id);
      return session!.id;
    };
    const [a1, a2, b] = [await ended("a"), await ended("a"), await ended("b")];
    const { session: open } = await sessions.startSession({ task: "hold", taskFile: file });
    const env = { ...process.env, TETHER_HOME: d.home, TETHER_SOCKET: d.socketPath };
    const cli = (...args: string[]) => spawnSync(process.execPath, [CLI_ENTRY, "rm", ...args], { env, encoding: "utf8" });
    const remaining = async () => (await sessions.listSessions({})).sessions.map((s) => s.id).sort();

    expect(cli("--ended", "--older-than", "1h")).toMatchObject({ status: 0, stdout: "removed 0 ended session(s) (0 B of output)\n" });
    expect(await remaining()).toEqual([a1, a2, b, open!.id].sort());
    const onlyA = cli("--ended", "--task", "a");
    expect(onlyA.status).toBe(0);
    expect(onlyA.stdout).toMatch(/^removed 2 ended session\(s\) \(\d+(\.\d)? (B|KiB) of output\)\n$/);
    expect(await remaining()).toEqual([b, open!.id].sort());
    expect(cli("--ended").stdout).toMatch(/^removed 1 ended session/);
    expect(await remaining()).toEqual([open!.id]);
    for (const bad of [[], [open!.id, "--ended"], ["--task", "a"], ["--successful"]]) expect(cli(...bad).status).toBe(2);
    // --successful (pueue clean -s): those closed with exit 0 alone; a failure stays to look into.
    const fails = writeTaskFile("tasks:\n  ok:\n    cmd: 'true'\n  bad:\n    cmd: exit 3\n");
    const ok = (await sessions.startSession({ task: "ok", taskFile: fails })).session!;
    const bad = (await sessions.startSession({ task: "bad", taskFile: fails })).session!;
    for (const s of [ok, bad]) await waitQuiet(sessions, s.id);
    expect(cli("--ended", "-s")).toMatchObject({ status: 0, stdout: expect.stringMatching(/^removed 1 successful session\(s\)/) });
    expect(await remaining()).toEqual([bad.id, open!.id].sort());
  });

  it("tether exec rm --ended [WS] and pty rm --closed [WS] remove every ended one (of a workspace; --older-than: that ended that long ago), never a running one, in one line", async () => {
    const { d, execs } = await withWorkspace();
    await d.client(WorkspaceService).createWorkspace({ displayName: "v" });
    const ptys = d.client(PtyService);
    const [, , v1] = [await execToEnd(execs, "w", ["echo", "1"]), await execToEnd(execs, "w", ["echo", "2"]), await execToEnd(execs, "v", ["echo", "3"])];
    const running = await startDetached(execs, "w", ["sleep", "60"]);
    const { pty: closed } = await ptys.createPty({ spec: { workspace: "w", argv: ["true"] } });
    const { pty: open } = await ptys.createPty({ spec: { workspace: "w", argv: ["sleep", "60"] } });
    await eventually(async () => ((await ptys.getPty({ pty: closed!.id })).pty!.exit !== undefined ? true : undefined));
    const env = { ...process.env, TETHER_HOME: d.home, TETHER_SOCKET: d.socketPath };
    const cli = (...args: string[]) => spawnSync(process.execPath, [CLI_ENTRY, ...args], { env, encoding: "utf8" });
    const execIds = async () => (await execs.listExecs({})).execs.map((e) => e.id).sort();

    // Ended just now: none ended an hour ago.
    expect(cli("exec", "rm", "--ended", "w", "--older-than", "1h")).toMatchObject({ status: 0, stdout: "removed 0 ended exec(s) (0 B of output)\n" });
    expect(cli("pty", "rm", "--closed", "--older-than", "1h")).toMatchObject({ status: 0, stdout: "removed 0 closed PTY(s) (0 B of output)\n" });
    expect(cli("exec", "rm", "--ended", "w")).toMatchObject({ status: 0, stdout: "removed 2 ended exec(s) (4 B of output)\n" });
    expect(await execIds()).toEqual([running.id, v1.exec!.id].sort());
    expect(cli("exec", "rm", "--ended")).toMatchObject({ status: 0, stdout: "removed 1 ended exec(s) (2 B of output)\n" });
    expect(await execIds()).toEqual([running.id]);
    expect(cli("pty", "rm", "--closed", "w").status).toBe(0);
    expect((await ptys.listPtys({})).ptys.map((p) => p.id)).toEqual([open!.id]);
    // --ended, as rm and exec rm take it, is --closed for PTYs.
    const { pty: another } = await ptys.createPty({ spec: { workspace: "v", argv: ["true"] } });
    await eventually(async () => ((await ptys.getPty({ pty: another!.id })).pty!.exit !== undefined ? true : undefined));
    expect(cli("pty", "rm", "--ended")).toMatchObject({ status: 0, stdout: expect.stringMatching(/^removed 1 closed PTY\(s\)/) });
    expect((await ptys.listPtys({})).ptys.map((p) => p.id)).toEqual([open!.id]);
    for (const bad of [["exec", "rm"], ["exec", "rm", "--ended", "w", "v"], ["pty", "rm"], ["exec", "rm", "e-1", "--older-than", "1h"], ["pty", "rm", "p-1", "--older-than", "1h"], ["exec", "rm", "e-1", "-s"]]) expect(cli(...bad).status).toBe(2);
    // --successful: those that exited 0 alone.
    const [good, failed] = [await execToEnd(execs, "w", ["true"]), await execToEnd(execs, "w", ["sh", "-c", "exit 4"])];
    expect(cli("exec", "rm", "--ended", "--successful")).toMatchObject({ status: 0, stdout: expect.stringMatching(/^removed 1 ended exec\(s\)/) });
    expect(await execIds()).toEqual([running.id, failed.exec!.id].sort());
    expect(good.exec!.id).not.toBe(failed.exec!.id);
  });
});
