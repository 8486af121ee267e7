import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import { Code, type Client } from "@connectrpc/connect";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ErrorReason } from "../../gen/tether/v1/errors_pb.js";
import { ExecStatus, RestartMode, type Exec } from "../../gen/tether/v1/exec_pb.js";
import { ExecService, type ExecStartSchema } from "../../gen/tether/v1/exec_service_pb.js";
import { RunStatus, SessionActivity, SessionStatus } from "../../gen/tether/v1/session_pb.js";
import { SessionService } from "../../gen/tether/v1/session_service_pb.js";
import { TaskService } from "../../gen/tether/v1/task_service_pb.js";
import { WorkspaceService } from "../../gen/tether/v1/workspace_service_pb.js";
import { daemonPerTest, type TestDaemon } from "../helpers/daemon.js";
import { failure } from "../helpers/errors.js";
import { ExecRequests, attachToEnd, collect, emptyResult, type ExecResult } from "../helpers/execs.js";
import { eventually, runStatus, waitQuiet, writeTaskFile } from "../helpers/sessions.js";

const daemon = daemonPerTest();

type Start = Omit<MessageInitShape<typeof ExecStartSchema>, "workspace" | "argv" | "$typeName">;

async function withWorkspace(): Promise<{ d: TestDaemon; execs: Client<typeof ExecService>; root: string }> {
  const d = await daemon();
  const { workspace } = await d.client(WorkspaceService).createWorkspace({ displayName: "w" });
  return { d, execs: d.client(ExecService), root: workspace!.root };
}

/** Starts an exec and detaches on the first answer (started: running or queued). */
async function submit(execs: Client<typeof ExecService>, argv: string[], start: Start): Promise<Exec> {
  const requests = new ExecRequests();
  requests.push({ kind: { case: "start", value: { workspace: "w", argv, ...start } } });
  requests.end();
  for await (const response of execs.exec(requests)) {
    if (response.kind.case === "started") return response.kind.value.exec!;
  }
  throw new Error("no started answer");
}

/** A job that writes its start and end (after `seconds`) to log.txt in the workspace. */
function job(name: string, seconds = 0.3): string[] {
  return ["sh", "-c", `echo "start ${name}" >> log.txt; sleep ${seconds}; echo "end ${name}" >> log.txt; echo "${name} done"`];
}

describe("queues (exec --queue, a task's queue:)", () => {
  it("runs a queue's execs one at a time in the order they came (QUEUED until their turn, then running), and lists the queue", async () => {
    const { execs, root } = await withWorkspace();
    const a = await submit(execs, job("a"), { queue: "build" });
    const b = await submit(execs, job("b"), { queue: "build" });
    const c = await submit(execs, job("c"), { queue: "build" });
    expect(a.status).toBe(ExecStatus.RUNNING);
    expect([b.status, c.status]).toEqual([ExecStatus.QUEUED, ExecStatus.QUEUED]);
    expect(b.queue).toBe("build");
    expect(b.startTime).toBeUndefined();
    expect(b.pid).toBe(0);
    const { queues } = await execs.listExecQueues({});
    expect(queues.map((q) => ({ name: q.name, parallel: q.parallel, paused: q.paused, running: q.running, queued: q.queued }))).toEqual([{ name: "build", parallel: 1, paused: false, running: 1, queued: 2 }]);
    expect((await execs.listExecs({ runningOnly: true })).execs.map((e) => e.id).sort()).toEqual([a.id, b.id, c.id].sort());
    const other = await submit(execs, ["true"], {});
    expect((await execs.listExecs({ queue: "build" })).execs.map((e) => e.id)).toEqual([c.id, b.id, a.id]);
    expect((await execs.listExecs({ queue: "none" })).execs).toEqual([]);
    expect((await execs.listExecs({})).execs.map((e) => e.id)).toContain(other.id);
    expect(await failure(execs.listExecs({ queue: "../x" }))).toMatchObject({ code: Code.InvalidArgument, message: expect.stringContaining('queue name "../x" is not one') });

    const { exec: last } = await execs.waitExec({ exec: c.id });
    expect(last!.status).toBe(ExecStatus.EXITED);
    expect(readFileSync(join(root, "log.txt"), "utf8")).toBe("start a\nend a\nstart b\nend b\nstart c\nend c\n");
    const ended = await Promise.all([b, c].map(async (e) => (await execs.getExec({ exec: e.id })).exec!));
    for (const e of ended) expect(timestampMs(e.startTime!)).toBeGreaterThan(timestampMs(e.createTime!));
    expect((await attachToEnd(execs, b.id)).stdout).toBe("b done\n");
    // Empty, with no limit set: no longer listed.
    expect((await execs.listExecQueues({})).queues).toEqual([]);
  });

  it("priority orders those waiting in a queue as pueue add --priority does: higher first, the same in the order they came; kept across kill -9 of the daemon; only with a queue", async () => {
    const { d, execs, root } = await withWorkspace();
    const blocker = await submit(execs, ["sleep", "60"], { queue: "p" });
    const low = await submit(execs, job("low", 0), { queue: "p", priority: -1 });
    const plain = await submit(execs, job("plain", 0), { queue: "p" });
    const high = await submit(execs, job("high", 0), { queue: "p", priority: 5 });
    const plain2 = await submit(execs, job("plain2", 0), { queue: "p" });
    const higher = await submit(execs, job("higher", 0), { queue: "p", priority: 9 });
    expect([high.priority, low.priority, plain.priority]).toEqual([5, -1, 0]);
    expect((await execs.getExec({ exec: high.id })).exec!.priority).toBe(5);
    await d.kill();
    await d.restart();
    const again = d.client(ExecService);
    // The blocker was lost with the daemon: the queue's line starts, in its order.
    expect((await again.getExec({ exec: blocker.id })).exec!.status).toBe(ExecStatus.LOST);
    await again.waitExec({ exec: low.id });
    expect(readFileSync(join(root, "log.txt"), "utf8").split("\n").filter((l) => l.startsWith("start"))).toEqual(["start higher", "start high", "start plain", "start plain2", "start low"]);
    for (const e of [low, plain, high, plain2, higher]) expect((await again.getExec({ exec: e.id })).exec!.status).toBe(ExecStatus.EXITED);
    const alone = await failure(submit(again, ["true"], { priority: 3 }));
    expect([alone.code, alone.message]).toEqual([Code.InvalidArgument, expect.stringContaining("give it a queue too")]);
  });

  it("an Exec call of a queued one answers QUEUED, then started once its turn comes, its output and its exit", async () => {
    const { execs } = await withWorkspace();
    const first = await submit(execs, ["sleep", "0.5"], { queue: "q" });
    const requests = new ExecRequests();
    requests.push({ kind: { case: "start", value: { workspace: "w", argv: ["sh", "-c", "echo out; exit 4"], queue: "q" } } });
    requests.end();
    const started: ExecStatus[] = [];
    const result = emptyResult();
    for await (const response of execs.exec(requests)) {
      if (response.kind.case === "started") started.push(response.kind.value.exec!.status);
      collect(result, response);
    }
    expect(started).toEqual([ExecStatus.QUEUED, ExecStatus.RUNNING]);
    expect(result.stdout).toBe("out\n");
    expect(result.exit?.exitCode).toBe(4);
    expect((await execs.getExec({ exec: first.id })).exec!.status).toBe(ExecStatus.EXITED);
  });

  it("a larger parallel limit starts waiting ones at once; the limit is kept across daemon restarts; bad names and limits are refused", async () => {
    const { d, execs } = await withWorkspace();
    const running = await submit(execs, ["sleep", "30"], { queue: "wide" });
    const waiting = await submit(execs, ["sleep", "30"], { queue: "wide" });
    expect(waiting.status).toBe(ExecStatus.QUEUED);
    const { queue } = await execs.updateExecQueue({ name: "wide", parallel: 2 });
    expect(queue).toMatchObject({ name: "wide", parallel: 2, running: 2, queued: 0 });
    expect((await execs.getExec({ exec: waiting.id })).exec!.status).toBe(ExecStatus.RUNNING);
    // A third waits: two run.
    expect((await submit(execs, ["true"], { queue: "wide" })).status).toBe(ExecStatus.QUEUED);
    await execs.stopExec({ exec: running.id });
    await d.stop();
    await d.restart();
    expect((await d.client(ExecService).listExecQueues({})).queues.find((q) => q.name === "wide")?.parallel).toBe(2);

    for (const [name, parallel, field] of [["wide", 1001, "parallel"], ["no spaces", 1, "queue"]] as const) {
      const refused = await failure(execs.updateExecQueue({ name, parallel }));
      expect(refused.code).toBe(Code.InvalidArgument);
      expect(refused.message).toMatch(field === "parallel" ? /1 to 1000/ : /letters, digits/);
    }
    const withRestart = await failure(submit(execs, ["true"], { queue: "q", restartPolicy: { mode: RestartMode.ALWAYS } }));
    expect(withRestart.code).toBe(Code.InvalidArgument);
    expect(withRestart.message).toMatch(/give it those or a restart policy, not both/);
  });

  it("a paused queue starts none of its queued execs (the running go on) until resumed, across a daemon restart; a reset forgets its settings; the daemon keeps at most 1000 queues' settings", async () => {
    const { d, execs, root } = await withWorkspace();
    const running = await submit(execs, ["sleep", "0.3"], { queue: "p" });
    expect((await execs.updateExecQueue({ name: "p", paused: true })).queue).toMatchObject({ paused: true, parallel: 1, running: 1 });
    const held = await submit(execs, job("held", 0), { queue: "p" });
    expect(held.status).toBe(ExecStatus.QUEUED);
    // The running one ends; the paused queue starts nothing, under this daemon nor the next.
    expect((await execs.waitExec({ exec: running.id })).exec!.status).toBe(ExecStatus.EXITED);
    await d.kill();
    await d.restart();
    const again = d.client(ExecService);
    await new Promise((r) => setTimeout(r, 300));
    expect((await again.getExec({ exec: held.id })).exec!.status).toBe(ExecStatus.QUEUED);
    expect((await again.listExecQueues({})).queues).toEqual([expect.objectContaining({ name: "p", paused: true, running: 0, queued: 1 })]);
    // A larger limit leaves it paused; resumed, the held one starts.
    expect((await again.updateExecQueue({ name: "p", parallel: 4 })).queue).toMatchObject({ parallel: 4, paused: true, running: 0 });
    expect((await again.updateExecQueue({ name: "p", paused: false })).queue).toMatchObject({ parallel: 4, paused: false });
    expect((await again.waitExec({ exec: held.id })).exec!.status).toBe(ExecStatus.EXITED);
    expect(readFileSync(join(root, "log.txt"), "utf8")).toBe("start held\nend held\n");
    expect((await again.deleteExecQueue({ name: "p" })).queue).toMatchObject({ name: "p", parallel: 1, paused: false, running: 0, queued: 0 });
    expect((await again.listExecQueues({})).queues).toEqual([]);

    for (let i = 0; i < 1000; i++) await again.updateExecQueue({ name: `q${i}`, parallel: 2 });
    const full = await failure(again.updateExecQueue({ name: "one-more", parallel: 2 }));
    expect(full).toMatchObject({ code: Code.ResourceExhausted, reason: ErrorReason.TOO_MANY_QUEUES });
    expect(full.message).toMatch(/forget those of one no longer used \(tether exec queue Q --reset\)/);
    // One already kept can change; one forgotten makes room.
    await again.updateExecQueue({ name: "q7", paused: true });
    await again.deleteExecQueue({ name: "q7" });
    expect((await again.updateExecQueue({ name: "one-more", parallel: 2 })).queue!.parallel).toBe(2);
  });

  it("a queued exec survives kill -9 of the daemon and runs in its turn under the next one", async () => {
    const { d, execs, root } = await withWorkspace();
    const holder = await submit(execs, ["sleep", "60"], { queue: "q" });
    const queued = await submit(execs, job("later", 0), { queue: "q", displayName: "later" });
    expect(queued.status).toBe(ExecStatus.QUEUED);
    await d.kill();
    await d.restart();
    const again = d.client(ExecService);
    // The one that ran is lost with the daemon; the queued one's turn comes.
    const { exec } = await again.waitExec({ exec: "later" });
    expect(exec).toMatchObject({ id: queued.id, status: ExecStatus.EXITED, exitCode: 0 });
    expect((await again.getExec({ exec: holder.id })).exec!.status).toBe(ExecStatus.LOST);
    expect(readFileSync(join(root, "log.txt"), "utf8")).toBe("start later\nend later\n");
  });

  it("stop, kill and rm take a queued exec out of its queue: it never runs (CANCELLED), its waiters and followers hear so; stdin and restart are refused while it waits", async () => {
    const { execs, root } = await withWorkspace();
    const holder = await submit(execs, ["sleep", "60"], { queue: "q" });
    const [x, y, z] = [await submit(execs, job("x", 0), { queue: "q", stdin: true }), await submit(execs, job("y", 0), { queue: "q" }), await submit(execs, job("z", 0), { queue: "q" })];

    const stdin = await failure(execs.writeExecStdin({ exec: x.id, text: "hi" }));
    expect(stdin.code).toBe(Code.FailedPrecondition);
    expect(stdin.reason).toBe(ErrorReason.EXEC_NOT_LIVE);
    expect(stdin.message).toMatch(/has not started: it waits in queue q \(0 before it\)/);
    expect((await failure(execs.restartExec({ exec: y.id }))).message).toMatch(/has not run yet/);

    const waited = execs.waitExec({ exec: x.id });
    const followed = attachToEnd(execs, x.id);
    const { exec: stopped } = await execs.stopExec({ exec: x.id });
    expect(stopped).toMatchObject({ status: ExecStatus.CANCELLED, error: "stopped while queued in q (tether exec stop): it never ran" });
    expect((await waited).exec!.status).toBe(ExecStatus.CANCELLED);
    const attached: ExecResult = await followed;
    expect(attached.stdout).toBe("");
    expect((await execs.signalExec({ exec: y.id, signal: "SIGKILL" })).exec!.status).toBe(ExecStatus.CANCELLED);
    const { exec: removed } = await execs.deleteExec({ exec: z.id });
    expect(removed!.status).toBe(ExecStatus.CANCELLED);
    expect((await execs.listExecQueues({})).queues[0]).toMatchObject({ running: 1, queued: 0 });

    // Its slot freed, nothing of theirs ran.
    await execs.stopExec({ exec: holder.id });
    await eventually(async () => ((await execs.listExecQueues({})).queues.length === 0 ? true : undefined));
    expect(() => readFileSync(join(root, "log.txt"), "utf8")).toThrow(/ENOENT/);
    const gone = await failure(execs.getExec({ exec: z.id }));
    expect(gone.code).toBe(Code.NotFound);
    expect(gone.reason).toBe(ErrorReason.EXEC_NOT_FOUND);
  });

  it("after: an exec starts once each exec it names has ended with exit 0 (then in its queue's turn); when one did not, or one is gone, it never runs; stop takes one out while it waits", async () => {
    const { execs, root } = await withWorkspace();
    const first = await submit(execs, job("first", 0.3), { displayName: "first" });
    const second = await submit(execs, job("second", 0), { after: ["first"] });
    const third = await submit(execs, job("third", 0), { after: [second.id, "first"], queue: "q" });
    expect([second.status, third.status]).toEqual([ExecStatus.QUEUED, ExecStatus.QUEUED]);
    expect(third.after).toEqual([second.id, first.id]);
    expect((await execs.waitExec({ exec: third.id })).exec).toMatchObject({ status: ExecStatus.EXITED, exitCode: 0 });
    expect(readFileSync(join(root, "log.txt"), "utf8")).toBe("start first\nend first\nstart second\nend second\nstart third\nend third\n");

    const failing = await submit(execs, ["sh", "-c", "sleep 0.2; exit 3"], {});
    const never = await submit(execs, job("never", 0), { after: [failing.id] });
    const { exec: cancelled } = await execs.waitExec({ exec: never.id });
    expect(cancelled).toMatchObject({ status: ExecStatus.CANCELLED, error: `exec ${failing.id}, which it was to start after, exited 3: it never ran` });
    const onCancelled = await submit(execs, ["true"], { after: [never.id] });
    expect((await execs.waitExec({ exec: onCancelled.id })).exec!.error).toBe(`exec ${never.id}, which it was to start after, never ran: it never ran`);

    const sleeper = await submit(execs, ["sleep", "60"], {});
    const held = await submit(execs, ["true"], { after: [sleeper.id] });
    expect((await failure(execs.writeExecStdin({ exec: held.id, text: "x" }))).message).toBe(`exec ${held.id} has not started: it waits for ${sleeper.id} to end; tether exec wait ${held.id} returns once it has run`);
    expect((await execs.stopExec({ exec: held.id })).exec).toMatchObject({ status: ExecStatus.CANCELLED, error: "stopped while queued (tether exec stop): it never ran" });
    await execs.stopExec({ exec: sleeper.id });
    expect(readFileSync(join(root, "log.txt"), "utf8")).not.toContain("never");

    const unknown = await failure(submit(execs, ["true"], { after: ["nosuch"] }));
    expect([unknown.code, unknown.reason]).toEqual([Code.NotFound, ErrorReason.EXEC_NOT_FOUND]);
    expect((await failure(submit(execs, ["true"], { after: Array.from({ length: 101 }, () => first.id) }))).message).toMatch(/at most 100 others, not 101/);
  });

  it("an exec waiting for another waits again under the next daemon after kill -9: the one it waited for was lost, so it never runs", async () => {
    const { d, execs } = await withWorkspace();
    const running = await submit(execs, ["sleep", "60"], {});
    const waiting = await submit(execs, ["true"], { after: [running.id] });
    await d.kill();
    await d.restart();
    const { exec } = await d.client(ExecService).waitExec({ exec: waiting.id });
    expect(exec).toMatchObject({ status: ExecStatus.CANCELLED, error: `exec ${running.id}, which it was to start after, was lost with the daemon: it never ran` });
  });

  it("start_at: an exec waits until its time (QUEUED, saying until when), across kill -9 of the daemon, then for its queue; a time past starts it at once; a year ahead or with a restart policy is refused", async () => {
    const { d, execs } = await withWorkspace();
    const at = Date.now() + 2500;
    const later = await submit(execs, ["sh", "-c", "date +%s%3N"], { startAt: timestampFromMs(at), queue: "timed", displayName: "later" });
    expect(later).toMatchObject({ status: ExecStatus.QUEUED, queue: "timed" });
    expect(timestampMs(later.startAt!)).toBe(at);
    expect(await failure(execs.writeExecStdin({ exec: "later", text: "x" }))).toMatchObject({ code: Code.FailedPrecondition, message: expect.stringContaining(`it waits until ${new Date(at).toISOString()}, then in queue timed`) });
    // It joins its queue once its time has come (as one waiting for others to end): until then the queue's listing has
    // nothing, the exec listing of the queue has it.
    expect((await execs.listExecQueues({})).queues).toEqual([]);
    expect((await execs.listExecs({ queue: "timed" })).execs.map((e) => e.id)).toEqual([later.id]);
    await d.kill();
    await d.restart();
    const again = d.client(ExecService);
    expect((await again.getExec({ exec: "later" })).exec!.status).toBe(ExecStatus.QUEUED);
    const { exec } = await again.waitExec({ exec: "later" });
    expect(exec).toMatchObject({ status: ExecStatus.EXITED, exitCode: 0 });
    expect(timestampMs(exec!.startTime!)).toBeGreaterThanOrEqual(at);
    expect(Number((await attachToEnd(again, later.id)).stdout)).toBeGreaterThanOrEqual(at);

    const past = await submit(again, ["true"], { startAt: timestampFromMs(Date.now() - 1000) });
    expect(past.status).toBe(ExecStatus.RUNNING);
    expect(past.startAt).toBeUndefined();
    const cancelled = await submit(again, ["touch", "never"], { startAt: timestampFromMs(Date.now() + 60_000) });
    expect((await again.signalExec({ exec: cancelled.id, signal: "SIGTERM" })).exec).toMatchObject({ status: ExecStatus.CANCELLED, error: "stopped while queued (tether exec kill): it never ran" });
    const yearAhead = timestampFromMs(Date.now() + 400 * 24 * 3600 * 1000);
    expect(await failure(submit(again, ["true"], { startAt: yearAhead }))).toMatchObject({ code: Code.InvalidArgument, message: expect.stringContaining("an exec starts at most a year from now") });
    const restartPolicy = { mode: RestartMode.ALWAYS };
    expect(await failure(submit(again, ["true"], { startAt: timestampFromMs(Date.now() + 60_000), restartPolicy }))).toMatchObject({ code: Code.InvalidArgument, message: expect.stringContaining("(--queue, --after, --delay)") });
  });

  it("StartExec starts a queued exec now, as pueue start: past its queue's limit (counted in it meanwhile), its time and the execs it was to start after; one not queued is refused", async () => {
    const { execs } = await withWorkspace();
    const holder = await submit(execs, ["sleep", "60"], { queue: "one" });
    const waiting = await submit(execs, ["sleep", "60"], { queue: "one" });
    const behind = await submit(execs, ["true"], { queue: "one" });
    const { exec: started } = await execs.startExec({ exec: waiting.id });
    expect(started).toMatchObject({ id: waiting.id, status: ExecStatus.RUNNING, queue: "one" });
    expect(started!.pid).toBeGreaterThan(0);
    // Two run in a queue of one: the one behind waits for both.
    expect((await execs.listExecQueues({})).queues).toMatchObject([{ name: "one", parallel: 1, running: 2, queued: 1 }]);
    expect((await execs.getExec({ exec: behind.id })).exec!.status).toBe(ExecStatus.QUEUED);

    const later = await submit(execs, ["sh", "-c", "echo now"], { startAt: timestampFromMs(Date.now() + 3_600_000), after: [holder.id] });
    expect((await execs.startExec({ exec: later.id })).exec!.status).toBe(ExecStatus.RUNNING);
    expect((await execs.waitExec({ exec: later.id })).exec).toMatchObject({ status: ExecStatus.EXITED, exitCode: 0 });
    expect((await attachToEnd(execs, later.id)).stdout).toBe("now\n");

    expect(await failure(execs.startExec({ exec: holder.id }))).toMatchObject({ code: Code.FailedPrecondition, reason: ErrorReason.EXEC_NOT_QUEUED, message: `exec ${holder.id} is not queued: it runs already` });
    expect(await failure(execs.startExec({ exec: later.id }))).toMatchObject({ code: Code.FailedPrecondition, message: `exec ${later.id} is not queued: it has ended (exited): tether exec restart ${later.id} starts its command again` });
    for (const e of [holder, waiting, behind]) await execs.stopExec({ exec: e.id });
  });

  it("a task's queue: its runs take the queue's slots with other sessions' runs and with execs, in the order they came; a waiting run stays queued, its session saying for what", async () => {
    const { d, execs, root } = await withWorkspace();
    const sessions = d.client(SessionService);
    const log = join(root, "log.txt");
    const taskFile = writeTaskFile(`tasks:\n  train:\n    queue: gpu\n    cmd: echo "start $TETHER_SESSION" >> ${log}; sleep 0.4; echo "end $TETHER_SESSION" >> ${log}\n`);
    const first = (await sessions.startSession({ task: "train", taskFile })).session!;
    const exec = await submit(execs, job("exec"), { queue: "gpu" });
    const second = (await sessions.startSession({ task: "train", taskFile })).session!;
    expect(exec.status).toBe(ExecStatus.QUEUED);
    const waiting = (await sessions.getSession({ name: second.name })).session!;
    expect([waiting.activity, waiting.waitingFor]).toEqual([SessionActivity.QUEUED, "a slot in queue gpu (run 1)"]);
    const [run] = (await sessions.listRuns({ parent: second.name })).runs;
    expect(run!.status).toBe(RunStatus.QUEUED);
    expect(run!.transitions.map((t) => [t.status, t.reason])).toEqual([
      [RunStatus.PENDING, ""],
      [RunStatus.QUEUED, "in queue gpu"],
    ]);
    expect((await execs.listExecQueues({})).queues).toEqual([expect.objectContaining({ name: "gpu", running: 1, queued: 2 })]);

    expect((await waitQuiet(sessions, second.id)).status).toBe(SessionStatus.CLOSED);
    const lines = readFileSync(log, "utf8");
    expect(lines).toBe(`start ${first.id}\nend ${first.id}\nstart exec\nend exec\nstart ${second.id}\nend ${second.id}\n`);
  });

  it("a task's priority: puts its runs before what waits in its queue with a lower one (an exec's too); tasks shows it; priority: without queue: is refused with its line", async () => {
    const { d, execs, root } = await withWorkspace();
    const sessions = d.client(SessionService);
    const log = join(root, "log.txt");
    const taskFile = writeTaskFile(`tasks:\n  urgent:\n    queue: gpu\n    priority: 5\n    cmd: echo "start urgent" >> ${log}\n`);
    const holder = await submit(execs, ["sleep", "60"], { queue: "gpu" });
    const exec = await submit(execs, job("exec", 0), { queue: "gpu" });
    const session = (await sessions.startSession({ task: "urgent", taskFile })).session!;
    await eventually(async () => ((await execs.listExecQueues({})).queues[0]?.queued === 2 ? true : undefined));
    await execs.stopExec({ exec: holder.id });
    await waitQuiet(sessions, session.id);
    await execs.waitExec({ exec: exec.id });
    expect(readFileSync(log, "utf8").split("\n").filter((l) => l.startsWith("start"))).toEqual(["start urgent", "start exec"]);
    const { tasks } = await d.client(TaskService).listTasks({ taskFile });
    expect(tasks.find((t) => t.name === "tasks/urgent")).toMatchObject({ queue: "gpu", priority: 5 });
    const bad = writeTaskFile("tasks:\n  loose:\n    priority: 2\n    cmd: 'true'\n");
    const refused = await failure(sessions.startSession({ task: "loose", taskFile: bad }));
    expect(refused.message).toContain(`:3: task "loose": priority orders a task's runs among those waiting in its queue: give it queue: NAME too`);
  });

  it("a session cancelled while its run waits takes it out of the queue; after kill -9 of the daemon a waiting run waits again and runs in its turn", async () => {
    const { d, execs, root } = await withWorkspace();
    const sessions = d.client(SessionService);
    const log = join(root, "log.txt");
    const taskFile = writeTaskFile(`tasks:\n  job:\n    queue: q\n    cmd: echo "ran $TETHER_SESSION" >> ${log}\n`);
    const holder = await submit(execs, ["sleep", "60"], { queue: "q" });
    const cancelled = (await sessions.startSession({ task: "job", taskFile })).session!;
    const kept = (await sessions.startSession({ task: "job", taskFile })).session!;
    expect((await execs.listExecQueues({})).queues[0]).toMatchObject({ running: 1, queued: 2 });
    await sessions.cancelSession({ name: cancelled.name });
    expect((await execs.listExecQueues({})).queues[0]).toMatchObject({ running: 1, queued: 1 });
    expect(await runStatus(sessions, cancelled.id)).toBe(RunStatus.CANCELLED);

    await d.kill();
    await d.restart();
    const again = d.client(SessionService);
    // The exec that held the slot is lost with the daemon; the run that waited has its turn.
    expect((await waitQuiet(again, kept.id)).status).toBe(SessionStatus.CLOSED);
    expect(readFileSync(log, "utf8")).toBe(`ran ${kept.id}\n`);
    expect((await d.client(ExecService).getExec({ exec: holder.id })).exec!.status).toBe(ExecStatus.LOST);
  });

  it("after kill -9 of the daemon, what waited in a queue waits again in the order it came, execs and session runs alike", async () => {
    const { d, execs, root } = await withWorkspace();
    const sessions = d.client(SessionService);
    const log = join(root, "log.txt");
    const taskFile = writeTaskFile(`tasks:\n  job:\n    queue: q\n    cmd: echo "run" >> ${log}\n`);
    await submit(execs, ["sleep", "60"], { queue: "q" });
    const first = await submit(execs, ["sh", "-c", `echo exec1 >> ${log}; sleep 0.3`], { queue: "q" });
    const run = (await sessions.startSession({ task: "job", taskFile })).session!;
    await new Promise((resolve) => setTimeout(resolve, 20));
    const last = await submit(execs, ["sh", "-c", `echo exec2 >> ${log}`], { queue: "q" });
    expect((await execs.listExecQueues({})).queues[0]).toMatchObject({ running: 1, queued: 3 });
    await d.kill();
    await d.restart();
    const again = d.client(ExecService);
    await again.waitExec({ exec: last.id });
    expect((await waitQuiet(d.client(SessionService), run.id)).status).toBe(SessionStatus.CLOSED);
    expect((await again.getExec({ exec: first.id })).exec!.status).toBe(ExecStatus.EXITED);
    expect(readFileSync(log, "utf8")).toBe("exec1\nrun\nexec2\n");
  });
});
