import { Code, ConnectError } from "@connectrpc/connect";
import { timestampFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import { existsSync, rmSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { RunStatus, SessionActivity, SessionStatus } from "../../gen/tether/v1/session_pb.js";
import { SessionService } from "../../gen/tether/v1/session_service_pb.js";
import { StreamService } from "../../gen/tether/v1/stream_service_pb.js";
import { CLI_ENTRY, daemonPerTest } from "../helpers/daemon.js";
import { eventually, waitQuiet, writeTaskFile } from "../helpers/sessions.js";
import { failure } from "../helpers/errors.js";
import { ErrorReason } from "../../gen/tether/v1/errors_pb.js";

const daemon = daemonPerTest();

const TASKS = `
tasks:
  first: { cmd: "touch ran-first" }
  main: { cmd: "echo main", upstream: [first] }
`;

describe("sessions: a start time (run --delay, --at) and sessions to start after (run --after)", () => {
  it("a session given a start time is open and waiting for it, its runs pending; its graph starts then, not sooner", async () => {
    const d = await daemon();
    const client = d.client(SessionService);
    const file = writeTaskFile(TASKS);
    const startAt = Date.now() + 1500;
    const { session } = await client.startSession({ task: "main", taskFile: file, startAt: timestampFromMs(startAt) });
    expect(timestampMs(session!.startAt!)).toBe(startAt);
    const iso = new Date(startAt).toISOString();
    expect((await client.getSession({ name: session!.name })).session).toMatchObject({ status: SessionStatus.OPEN, activity: SessionActivity.WAITING, waitingFor: `its start at ${iso}` });
    expect((await client.listRuns({ parent: session!.name })).runs.map((r) => RunStatus[r.status])).toEqual(["PENDING", "PENDING"]);
    expect(existsSync(join(dirname(file), "ran-first"))).toBe(false);
    const done = await waitQuiet(client, session!.id);
    expect(done).toMatchObject({ status: SessionStatus.CLOSED, exitCode: 0 });
    const { runs } = await client.listRuns({ parent: session!.name });
    const queuedAt = runs[0]!.transitions.find((t) => t.status === RunStatus.QUEUED)!.time!;
    expect(timestampMs(queuedAt)).toBeGreaterThanOrEqual(startAt);
    expect(runs.map((r) => RunStatus[r.status])).toEqual(["SUCCEEDED", "SUCCEEDED"]);
    const reasons: string[] = [];
    for await (const { events } of client.watchSession({ name: session!.name })) reasons.push(...events.map((e) => e.reason));
    expect(reasons[0]).toBe(`session started; its graph waits for its start at ${iso}`);
  });

  it("cancelled before its start time, nothing of it runs; a start time past is at once, one too far or after its ttl is refused; a rerun starts at once", async () => {
    const d = await daemon();
    const client = d.client(SessionService);
    const file = writeTaskFile(TASKS);
    const { session } = await client.startSession({ task: "main", taskFile: file, startAt: timestampFromMs(Date.now() + 60_000) });
    await client.cancelSession({ name: session!.name });
    const cancelled = await waitQuiet(client, session!.id);
    expect(cancelled.status).toBe(SessionStatus.CANCELLED);
    expect((await client.listRuns({ parent: session!.name })).runs.map((r) => RunStatus[r.status])).toEqual(["CANCELLED", "CANCELLED"]);
    expect(existsSync(join(dirname(file), "ran-first"))).toBe(false);

    const { session: rerun } = await client.rerunSession({ name: session!.name });
    expect(rerun!.startAt).toBeUndefined();
    expect(await waitQuiet(client, rerun!.id)).toMatchObject({ status: SessionStatus.CLOSED, exitCode: 0 });

    const { session: past } = await client.startSession({ task: "main", taskFile: file, startAt: timestampFromMs(Date.now() - 1000) });
    expect(past!.startAt).toBeUndefined();
    expect(await waitQuiet(client, past!.id)).toMatchObject({ status: SessionStatus.CLOSED, exitCode: 0 });

    const tooFar = await client.startSession({ task: "main", taskFile: file, startAt: timestampFromMs(Date.now() + 400 * 24 * 3600_000) }).catch((e: unknown) => ConnectError.from(e));
    expect(tooFar).toMatchObject({ code: Code.InvalidArgument, rawMessage: expect.stringMatching(/^a session starts at most a year from now/) });
    const afterTtl = await client.startSession({ task: "main", taskFile: file, startAt: timestampFromMs(Date.now() + 7200_000), ttl: { seconds: 3600n } }).catch((e: unknown) => ConnectError.from(e));
    expect(afterTtl).toMatchObject({ code: Code.InvalidArgument, rawMessage: expect.stringMatching(/^a ttl of 1h ends the session before its start at .* \(a ttl counts from now\): give a longer one, or none$/) });
    expect((await client.listSessions({})).sessions).toHaveLength(3);
  });

  it("a start time outlives the daemon: stopped, the next one waits for it still; killed and down past it, the next one starts the graph at once", async () => {
    const d = await daemon();
    const file = writeTaskFile(TASKS);
    const startAt = Date.now() + 2500;
    const { session: stopped } = await d.client(SessionService).startSession({ task: "main", taskFile: file, startAt: timestampFromMs(startAt) });
    expect(await d.stop()).toBe(0);
    await d.restart();
    const afterStop = d.client(SessionService);
    const waiting = (await afterStop.getSession({ name: stopped!.name })).session!;
    // Unless the restart took longer than the delay, it still waits.
    if (Date.now() < startAt - 300) expect(waiting).toMatchObject({ activity: SessionActivity.WAITING, waitingFor: `its start at ${new Date(startAt).toISOString()}` });
    expect(await waitQuiet(afterStop, stopped!.id)).toMatchObject({ status: SessionStatus.CLOSED, exitCode: 0 });
    const queuedAt = (await afterStop.listRuns({ parent: stopped!.name })).runs[0]!.transitions.find((t) => t.status === RunStatus.QUEUED)!.time!;
    expect(timestampMs(queuedAt)).toBeGreaterThanOrEqual(startAt);

    const { session: killed } = await afterStop.startSession({ task: "main", taskFile: file, startAt: timestampFromMs(Date.now() + 1000) });
    await d.kill();
    await new Promise((resolve) => setTimeout(resolve, 1200));
    await d.restart();
    const afterKill = d.client(SessionService);
    expect(await waitQuiet(afterKill, killed!.id)).toMatchObject({ status: SessionStatus.CLOSED, exitCode: 0 });
    expect((await afterKill.listRuns({ parent: killed!.name })).runs.map((r) => RunStatus[r.status])).toEqual(["SUCCEEDED", "SUCCEEDED"]);
  });

  it("tether run --delay and --at: -d prints the id, ls and show say when it starts; with --dry-run, or both, refused", async () => {
    const d = await daemon();
    const file = writeTaskFile(TASKS);
    const cli = (...args: string[]) => spawnSync(process.execPath, [CLI_ENTRY, ...args], { env: d.env, encoding: "utf8", cwd: dirname(file) });
    const started = cli("run", "main", "--delay", "1h", "-d");
    expect(started.status).toBe(0);
    const id = started.stdout.trim();
    const ls = cli("ls");
    expect(ls.stdout).toMatch(new RegExp(`${id}\\s+main\\s+open/waiting: its start at \\d{4}-\\d\\d-\\d\\dT`));
    expect(cli("show", id).stdout).toMatch(/created {3}\S+, to start at \S+Z\n/);
    expect(JSON.parse(cli("show", id, "--json").stdout)).toMatchObject({ activity: "waiting", start_at: expect.stringMatching(/Z$/) });
    expect(cli("cancel", id).status).toBe(0);
    const dry = cli("run", "main", "--at", "03:00", "--dry-run");
    expect(dry.status).toBe(2);
    expect(dry.stderr).toContain("--dry-run starts nothing, now or later: drop --delay, --at or --after");
    const both = cli("run", "main", "--at", "03:00", "--delay", "1m", "-d");
    expect(both.status).toBe(2);
    expect(both.stderr).toContain("--delay and --at both say when it starts: give one of them");
    expect(cli("run", "main", "--delay", "1s").stdout).toBe("main  | main\n");
  });

  it("a session to start after another waits for it to end (open, waiting, its runs pending), then runs; after one that failed it is cancelled with nothing run; after one ended well it starts at once", async () => {
    const d = await daemon();
    const client = d.client(SessionService);
    const file = writeTaskFile(`
tasks:
  gate: { cmd: "while [ ! -f open-gate ]; do sleep 0.05; done; exit $(cat open-gate)" }
  hold: { cmd: "sleep 300" }
  first: { cmd: "touch ran-first" }
  main: { cmd: "echo main", upstream: [first] }
`);
    const dir = dirname(file);
    const { session: gate } = await client.startSession({ task: "gate", taskFile: file });
    const { session: next } = await client.startSession({ task: "main", taskFile: file, after: [gate!.id.slice(0, 4)] });
    expect(next!.after).toEqual([gate!.id]);
    expect((await client.getSession({ name: next!.name })).session).toMatchObject({ activity: SessionActivity.WAITING, waitingFor: `${gate!.id} to end` });
    expect((await client.listRuns({ parent: next!.name })).runs.map((r) => RunStatus[r.status])).toEqual(["PENDING", "PENDING"]);
    writeFileSync(join(dir, "open-gate"), "0");
    const gateDone = await waitQuiet(client, gate!.id);
    expect(await waitQuiet(client, next!.id)).toMatchObject({ status: SessionStatus.CLOSED, exitCode: 0 });
    const queuedAt = (await client.listRuns({ parent: next!.name })).runs[0]!.transitions.find((t) => t.status === RunStatus.QUEUED)!.time!;
    expect(timestampMs(queuedAt)).toBeGreaterThanOrEqual(timestampMs(gateDone.endTime!));

    // After one ended well: at once.
    const { session: soon } = await client.startSession({ task: "main", taskFile: file, after: [gate!.name] });
    expect(await waitQuiet(client, soon!.id)).toMatchObject({ status: SessionStatus.CLOSED, exitCode: 0 });

    // After one that fails: cancelled as it fails (another it waits for still running), its error naming it and how it ended; nothing of its graph ran.
    writeFileSync(join(dir, "open-gate"), "3");
    rmSync(join(dir, "ran-first"));
    const { session: hold } = await client.startSession({ task: "hold", taskFile: file });
    const { session: failing } = await client.startSession({ task: "gate", taskFile: file });
    const { session: never } = await client.startSession({ task: "main", taskFile: file, after: [hold!.id, failing!.id, gate!.id] });
    const cancelled = await waitQuiet(client, never!.id);
    expect(cancelled).toMatchObject({ status: SessionStatus.CANCELLED, error: `session ${failing!.id}, which it was to start after, failed (exit code 3: task gate failed: exited with code 3)` });
    expect((await client.listRuns({ parent: never!.name })).runs.map((r) => RunStatus[r.status])).toEqual(["CANCELLED", "CANCELLED"]);
    expect(existsSync(join(dir, "ran-first"))).toBe(false);
    expect((await client.getSession({ name: hold!.name })).session!.status).toBe(SessionStatus.OPEN);
    await client.cancelSession({ name: hold!.name });

    const unknown = await client.startSession({ task: "main", taskFile: file, after: ["s-nope"] }).catch((e: unknown) => ConnectError.from(e));
    expect(unknown).toMatchObject({ code: Code.NotFound });
    const empty = await client.startSession({ task: "main", taskFile: file, after: [""] }).catch((e: unknown) => ConnectError.from(e));
    expect(empty).toMatchObject({ code: Code.InvalidArgument, rawMessage: "after names the sessions to start after, each by its id or a unique prefix: one was empty" });
    const tooMany = await client.startSession({ task: "main", taskFile: file, after: Array.from({ length: 101 }, () => gate!.id) }).catch((e: unknown) => ConnectError.from(e));
    expect(tooMany).toMatchObject({ code: Code.InvalidArgument, rawMessage: expect.stringMatching(/^a session starts after at most 100 others, not 101/) });
  });

  it("a wait for another session outlives the daemon; one removed before its turn came cancels it, saying it is gone", async () => {
    const d = await daemon();
    const file = writeTaskFile(TASKS);
    const client = d.client(SessionService);
    // A starts later, B waits for A: both wait across a graceful stop, and each goes on under the next daemon.
    const { session: a } = await client.startSession({ task: "first", taskFile: file, startAt: timestampFromMs(Date.now() + 2000) });
    const { session: b } = await client.startSession({ task: "main", taskFile: file, after: [a!.id] });
    expect(await d.stop()).toBe(0);
    await d.restart();
    const after = d.client(SessionService);
    expect(await waitQuiet(after, b!.id)).toMatchObject({ status: SessionStatus.CLOSED, exitCode: 0 });
    expect((await after.getSession({ name: a!.name })).session).toMatchObject({ status: SessionStatus.CLOSED, exitCode: 0 });

    // C's time comes after A is removed: A is gone, so C never runs.
    const { session: c } = await after.startSession({ task: "main", taskFile: file, after: [a!.id], startAt: timestampFromMs(Date.now() + 1500) });
    await after.deleteSession({ name: a!.name });
    const gone = await waitQuiet(after, c!.id);
    expect(gone).toMatchObject({ status: SessionStatus.CANCELLED, error: expect.stringMatching(new RegExp(`^session ${a!.id}, which it was to start after, is gone \\(no session`)) });
  });

  it("a session that has started after another stays open when that one is removed and the daemon restarts: its start is behind it", async () => {
    const d = await daemon();
    const file = writeTaskFile(`${TASKS}  chat: { cmd: "echo turn", keep_open: true, streams: { inbox: input } }\n`);
    const client = d.client(SessionService);
    const { session: a } = await client.startSession({ task: "first", taskFile: file });
    const { session: chat } = await client.startSession({ task: "chat", taskFile: file, after: [a!.id] });
    await waitQuiet(client, chat!.id);
    await client.deleteSession({ name: a!.name });
    expect(await d.stop()).toBe(0);
    await d.restart();
    const after = d.client(SessionService);
    await d.client(StreamService).sendInput({ session: chat!.name, stream: "inbox", text: "again" });
    await eventually(async () => ((await after.listRuns({ parent: chat!.name })).runs.length === 2 ? true : undefined));
    expect(await waitQuiet(after, chat!.id)).toMatchObject({ status: SessionStatus.OPEN, exitCode: 0 });
    expect((await after.listRuns({ parent: chat!.name })).runs.map((r) => RunStatus[r.status])).toEqual(["SUCCEEDED", "SUCCEEDED"]);
  });

  it("tether run --after: ls and show say what it waits for; --dry-run with it is refused", async () => {
    const d = await daemon();
    const file = writeTaskFile(TASKS);
    const cli = (...args: string[]) => spawnSync(process.execPath, [CLI_ENTRY, ...args], { env: d.env, encoding: "utf8", cwd: dirname(file) });
    const first = cli("run", "first", "--delay", "1h", "-d").stdout.trim();
    const next = cli("run", "main", "--after", first, "-d").stdout.trim();
    expect(cli("ls").stdout).toMatch(new RegExp(`${next}\\s+main\\s+open/waiting: ${first} to end`));
    expect(cli("show", next).stdout).toMatch(new RegExp(`created {3}\\S+, to start after ${first}\n`));
    expect(JSON.parse(cli("show", next, "--json").stdout)).toMatchObject({ after: [first] });
    expect(cli("run", "main", "--after", first, "--dry-run").status).toBe(2);
    expect(cli("cancel", first).status).toBe(0);
    expect(cli("show", next, "--wait").status).toBe(130);
    expect(cli("show", next).stdout).toContain(`error     session ${first}, which it was to start after, was cancelled (exit code 130: cancelled by a client)`);
  });

  it("tether start: a session waiting for its time starts now, its state log saying what it waited for; started or ended ones are refused", async () => {
    const d = await daemon();
    const client = d.client(SessionService);
    const file = writeTaskFile(TASKS);
    const cli = (...args: string[]) => spawnSync(process.execPath, [CLI_ENTRY, ...args], { env: d.env, encoding: "utf8", cwd: dirname(file) });
    const startAt = Date.now() + 3600_000;
    const { session } = await client.startSession({ task: "main", taskFile: file, startAt: timestampFromMs(startAt) });
    const started = cli("start", session!.id.slice(0, 5));
    expect([started.status, started.stdout, started.stderr]).toEqual([0, `started ${session!.id}\n`, ""]);
    expect(await waitQuiet(client, session!.id)).toMatchObject({ status: SessionStatus.CLOSED, exitCode: 0 });
    expect(existsSync(join(dirname(file), "ran-first"))).toBe(true);
    expect(cli("show", session!.id).stdout).toMatch(/\ncreated {3}\S+Z, to start at \S+Z, started \S+Z, ended \S+Z\n/);
    const reasons: string[] = [];
    for await (const { events } of client.watchSession({ name: session!.name })) reasons.push(...events.map((e) => e.reason).filter((r) => r !== ""));
    expect(reasons.slice(0, 2)).toEqual([`session started; its graph waits for its start at ${new Date(startAt).toISOString()}`, `started now by a client; it waited for its start at ${new Date(startAt).toISOString()}`]);

    const ended = await failure(client.startSessionNow({ name: session!.name }));
    expect(ended).toEqual({ code: Code.FailedPrecondition, reason: ErrorReason.SESSION_NOT_OPEN, message: `cannot start session ${session!.id}: it is already closed; only open sessions can be started` });
    const { session: hold } = await client.startSession({ task: "hold", taskFile: writeTaskFile(`tasks:\n  hold: { cmd: "sleep 300" }\n`) });
    const running = await failure(client.startSessionNow({ name: hold!.name }));
    expect(running).toMatchObject({ code: Code.FailedPrecondition, reason: ErrorReason.SESSION_STARTED, message: `session ${hold!.id} does not wait to start: its graph has started (tether show ${hold!.id} lists its runs; tether rerun ${hold!.id} starts its task again)` });
    const usage = cli("start");
    expect([usage.status, usage.stderr]).toEqual([2, expect.stringContaining("tether start S...")]);
    await client.cancelSession({ name: hold!.name });
  });

  it("tether start: one waiting for another session starts without it; that holds after kill -9 of the daemon, which does not wait again", async () => {
    const d = await daemon();
    const client = d.client(SessionService);
    const file = writeTaskFile(`${TASKS}  hold: { cmd: "sleep 300" }\n  serve: { cmd: "echo up; exec sleep 300" }\n`);
    const { session: hold } = await client.startSession({ task: "hold", taskFile: file });
    const { session: next } = await client.startSession({ task: "serve", taskFile: file, after: [hold!.id] });
    expect((await client.getSession({ name: next!.name })).session).toMatchObject({ activity: SessionActivity.WAITING, waitingFor: `${hold!.id} to end` });
    const { session } = await client.startSessionNow({ name: next!.name });
    expect(session).toMatchObject({ status: SessionStatus.OPEN, after: [hold!.id] });
    expect(session!.activity).not.toBe(SessionActivity.WAITING);
    // Killed as soon as it answered: what it acknowledged is stored, its run queued or running then.
    await d.kill();
    await d.restart();
    const after = d.client(SessionService);
    // Not back to waiting for hold (which the kill has cut too, so it would be cancelled): its run went on, or was cut with the daemon (lost).
    const { runs } = await after.listRuns({ parent: next!.name });
    expect(["LOST", "QUEUED", "RUNNING"]).toContain(RunStatus[runs[0]!.status]);
    expect((await after.getSession({ name: next!.name })).session!.waitingFor).not.toContain(hold!.id);
    await after.cancelSession({ name: next!.name }).catch(() => {});
  });
});
