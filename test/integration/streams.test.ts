import { Code } from "@connectrpc/connect";
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { ErrorReason } from "../../gen/tether/v1/errors_pb.js";
import { RunStatus, SessionActivity, SessionStatus } from "../../gen/tether/v1/session_pb.js";
import { SessionService } from "../../gen/tether/v1/session_service_pb.js";
import { StreamService } from "../../gen/tether/v1/stream_service_pb.js";
import { daemonPerTest } from "../helpers/daemon.js";
import { failure } from "../helpers/errors.js";
import { eventually, logText, runStatus, waitQuiet, writeTaskFile } from "../helpers/sessions.js";
import { attachUntilEnded, holdingSession } from "../helpers/streams.js";

const daemon = daemonPerTest();

const text = (data: Uint8Array): string => Buffer.from(data).toString();

describe("session streams", () => {
  it("max_output keeps only the last records of a session's output streams too: read from the beginning starts at the oldest kept, an earlier sequence is CURSOR_EXPIRED, an attach reads on past them; show says where they start", async () => {
    const d = await daemon();
    const sessions = d.client(SessionService);
    const streams = d.client(StreamService);
    // 24 MiB of numbered records, 128 bytes each, into an output stream of a session that keeps 16 MiB.
    const count = (24 * 1024 * 1024) / 128;
    const file = writeTaskFile(`tasks:
  chatty:
    max_output: 16M
    streams: { events: output }
    cmd: awk 'BEGIN { for (i = 1; i <= ${count}; i++) printf "%0127d\\n", i }' | tether output events --lines
`);
    const { session } = await sessions.startSession({ task: "chatty", taskFile: file });
    expect((await waitQuiet(sessions, session!.id)).exitCode).toBe(0);
    const events = (await sessions.getSession({ name: session!.name })).session!.streams.find((st) => st.name === "events")!;
    expect(Number(events.nextSequence)).toBe(count + 1);
    const first = Number(events.firstSequence);
    expect(first).toBeGreaterThan(count / 4);
    const sequences: number[] = [];
    let last = "";
    for await (const msg of streams.readStream({ session: session!.name, stream: "events" })) {
      for (const r of msg.records) sequences.push(Number(r.sequence));
      last = text(msg.records.at(-1)!.data);
    }
    expect([sequences[0], sequences.length, last]).toEqual([first, count - first + 1, String(count).padStart(127, "0")]);
    const gone = await failure((async () => {
      for await (const _ of streams.readStream({ session: session!.name, stream: "events", fromSequence: 5n })) void _;
    })());
    expect([gone.code, gone.reason]).toEqual([Code.OutOfRange, ErrorReason.CURSOR_EXPIRED]);
    // An attach from the start of the session reads on past the records dropped, to the end.
    const records = (await attachUntilEnded(sessions, session!.id)).filter((seen) => seen.what.startsWith("record events#"));
    expect([records.length, records[0]!.what.split(" ")[1]]).toEqual([count - first + 1, `events#${first}`]);
  });

  it("sends are durable records with dense sequences; a repeated idempotency key returns the first record; bad input is refused clearly", async () => {
    const d = await daemon();
    const sessions = d.client(SessionService);
    const streams = d.client(StreamService);
    const file = writeTaskFile(`
tasks:
  hold:
    streams: { approval: input, events: output }
    cmd: sleep 300
`);
    const { session } = await sessions.startSession({ task: "hold", taskFile: file });
    const name = session!.name;
    const first = await streams.sendInput({ session: name, stream: "approval", text: '{"ok":true}', contentType: "application/json", idempotencyKey: "k1", correlationId: "c1" });
    expect(first.duplicate).toBe(false);
    expect(first.record!.sequence).toBe(1n);
    const again = await streams.sendInput({ session: name, stream: "approval", text: '{"ok":false}', contentType: "application/json", idempotencyKey: "k1" });
    expect(again.duplicate).toBe(true);
    expect(again.record!.sequence).toBe(1n);
    expect(text(again.record!.data)).toBe('{"ok":true}');
    const second = await streams.sendInput({ session: name, stream: "approval", data: Buffer.from([1, 2, 3]) });
    expect(second.record!.sequence).toBe(2n);
    expect(second.record!.contentType).toBe("application/octet-stream");

    const records = [];
    for await (const msg of streams.readStream({ session: name, stream: "approval" })) records.push(...msg.records);
    expect(records.map((r) => [r.sequence, r.correlationId, r.idempotencyKey, r.contentType])).toEqual([
      [1n, "c1", "k1", "application/json"],
      [2n, "", "", "application/octet-stream"],
    ]);

    // The last records, or the last of those with a correlation id; 0: none yet (with follow, only new ones).
    const tail = async (request: { tailRecords: number; correlationId?: string; fromSequence?: bigint }) => {
      const out = [];
      for await (const msg of streams.readStream({ session: name, stream: "approval", ...request })) out.push(...msg.records.map((r) => r.sequence));
      return out;
    };
    await streams.sendInput({ session: name, stream: "approval", text: "3", correlationId: "c1" });
    await streams.sendInput({ session: name, stream: "approval", text: "4" });
    expect(await tail({ tailRecords: 2 })).toEqual([3n, 4n]);
    expect(await tail({ tailRecords: 10 })).toEqual([1n, 2n, 3n, 4n]);
    expect(await tail({ tailRecords: 0 })).toEqual([]);
    expect(await tail({ tailRecords: 1, correlationId: "c1" })).toEqual([3n]);
    expect(await tail({ tailRecords: 5, correlationId: "c1" })).toEqual([1n, 3n]);
    expect((await failure(tail({ tailRecords: 1, fromSequence: 2n }))).message).toBe(
      "from_sequence and tail_records cannot be used together: start at a sequence or at the last records, not both",
    );

    const unknown = await failure(streams.sendInput({ session: name, stream: "nope", text: "x" }));
    expect(unknown.code).toBe(Code.NotFound);
    expect(unknown.reason).toBe(ErrorReason.STREAM_NOT_FOUND);
    expect(unknown.message).toContain("approval (input), events (output)");
    expect(unknown.message).not.toContain("did you mean");
    const slip = await failure(streams.sendInput({ session: name, stream: "aproval", text: "x" }));
    expect([slip.reason, slip.message]).toEqual([ErrorReason.STREAM_NOT_FOUND, expect.stringContaining('has no stream "aproval": did you mean approval? Its streams are ')]);
    const wrongWay = await failure(streams.sendInput({ session: name, stream: "events", text: "x" }));
    expect(wrongWay.code).toBe(Code.FailedPrecondition);
    expect(wrongWay.reason).toBe(ErrorReason.STREAM_WRONG_DIRECTION);
    expect(wrongWay.message).toContain("output stream");
    const tooBig = await failure(streams.sendInput({ session: name, stream: "approval", data: Buffer.alloc(4 * 1024 * 1024 + 1) }));
    expect(tooBig.code).toBe(Code.InvalidArgument);
    expect(tooBig.reason).toBe(ErrorReason.RECORD_TOO_LARGE);
    const badUtf8 = await failure(streams.sendInput({ session: name, stream: "approval", data: Buffer.from([0x7b, 0xff, 0x7d]), contentType: "application/json" }));
    expect(badUtf8.reason).toBe(ErrorReason.RECORD_INVALID);
    expect(badUtf8.message).toContain("not valid UTF-8");
    const badJson = await failure(streams.sendInput({ session: name, stream: "approval", text: "{nope", contentType: "application/json" }));
    expect(badJson.code).toBe(Code.InvalidArgument);
    expect(badJson.message).toContain("not valid JSON");
    // Each record is checked against its own type, whatever the one before it had.
    const badText = await failure(streams.sendInput({ session: name, stream: "approval", data: Buffer.from([0x68, 0xff]), contentType: "Text/Plain; charset=utf-8" }));
    expect([badText.reason, badText.message]).toEqual([ErrorReason.RECORD_INVALID, expect.stringContaining("not valid UTF-8")]);
    expect((await streams.sendInput({ session: name, stream: "approval", data: Buffer.from([0x68, 0xff]), contentType: "application/octet-stream" })).record?.data).toEqual(new Uint8Array([0x68, 0xff]));
    const withMark = await streams.sendInput({ session: name, stream: "approval", data: Buffer.from('\ufeff{"ok":true}'), contentType: "application/json" });
    expect(withMark.record?.contentType).toBe("application/json");
    const noSession = await failure(streams.sendInput({ session: "sessions/s-zzzzz", stream: "approval", text: "x" }));
    expect(noSession.code).toBe(Code.NotFound);
    const notARun = await failure(streams.writeOutput({ session: name, run: 7, stream: "events", records: [{ data: Buffer.from("x") }] }));
    expect(notARun.reason).toBe(ErrorReason.RUN_NOT_FOUND);
    expect(notARun.message).toMatch(/ has no run 7: it has run 1$/);

    await sessions.cancelSession({ name });
    const closed = await failure(streams.sendInput({ session: name, stream: "approval", text: "late" }));
    expect(closed.code).toBe(Code.FailedPrecondition);
    expect(closed.reason).toBe(ErrorReason.SESSION_NOT_OPEN);
    expect(closed.message).toContain("it is cancelled");
    // A retry of an acknowledged send is still a no-op, not an error.
    expect((await streams.sendInput({ session: name, stream: "approval", text: "retry", idempotencyKey: "k1" })).duplicate).toBe(true);
    // Nothing refused was stored (the two accepted above, the bytes and the JSON with its mark, are).
    const after = [];
    for await (const msg of streams.readStream({ session: name, stream: "approval" })) after.push(...msg.records);
    expect(after.length).toBe(6);
  });

  it("a task waits for input: run and session show waiting and what for, a send resumes it, the state log has the wait, a timeout fails clearly", async () => {
    const d = await daemon();
    const sessions = d.client(SessionService);
    const streams = d.client(StreamService);
    const file = writeTaskFile(`
tasks:
  approve:
    streams: { approval: input, events: output }
    cmd: |
      tether output events '{"type":"asking"}'
      answer=$(tether wait approval --timeout 60s)
      echo "got $answer"
      tether wait approval --timeout 300ms
      echo "second wait exit $?"
`);
    const { session } = await sessions.startSession({ task: "approve", taskFile: file });
    const name = session!.name;
    const waiting = await eventually(async () => {
      const { session: s } = await sessions.getSession({ name });
      return s!.activity === SessionActivity.WAITING ? s : undefined;
    });
    expect(waiting!.waitingFor).toContain("input on approval");
    expect(await runStatus(sessions, session!.id)).toBe(RunStatus.WAITING);
    const list = await sessions.listSessions({});
    expect(list.sessions[0]!.waitingFor).toContain("input on approval");

    // One blocking wait per run.
    const twice = await failure(streams.waitForInput({ session: name, run: 1, stream: "approval" }));
    expect(twice.code).toBe(Code.FailedPrecondition);
    expect(twice.reason).toBe(ErrorReason.ALREADY_WAITING);

    await streams.sendInput({ session: name, stream: "approval", text: '{"ok":true}', contentType: "application/json" });
    const done = await waitQuiet(sessions, session!.id);
    expect(done.status).toBe(SessionStatus.CLOSED);
    const out = (await logText(sessions, session!.id)).stdout;
    expect(out).toContain('got {"ok":true}');
    expect(out).toContain("second wait exit 124");
    const { runs } = await sessions.listRuns({ parent: name });
    const log = runs[0]!.transitions.map((t) => `${RunStatus[t.status]} ${t.reason}`);
    expect(log).toContain("WAITING waiting for input on approval");
    expect(log).toContain("RUNNING took approval record 1");
    expect(log.some((l) => l.startsWith("RUNNING wait for input on approval timed out after"))).toBe(true);
    const events = [];
    for await (const msg of streams.readStream({ session: name, stream: "events" })) events.push(...msg.records);
    expect(events.map((r) => [text(r.data), r.contentType])).toEqual([['{"type":"asking"}', "application/json"]]);
  });

  it("a wait for input shows the session waiting, and for what, while a ready service runs beside it", async () => {
    const d = await daemon();
    const sessions = d.client(SessionService);
    const streams = d.client(StreamService);
    const file = writeTaskFile(`
tasks:
  serve:
    cmd: exec sleep 300
    readiness: { cmd: "true", interval: 100ms }
  approve:
    upstream: [serve]
    streams: { approval: input }
    cmd: tether wait approval
`);
    const { session } = await sessions.startSession({ task: "approve", taskFile: file });
    const name = session!.name;
    const waiting = await eventually(async () => ((await runStatus(sessions, session!.id, 2)) === RunStatus.WAITING ? (await sessions.getSession({ name })).session : undefined));
    expect(await runStatus(sessions, session!.id, 1)).toBe(RunStatus.READY);
    expect(waiting!.activity).toBe(SessionActivity.WAITING);
    expect(waiting!.waitingFor).toBe("input on approval (run 2)");
    expect((await sessions.listSessions({})).sessions[0]!.waitingFor).toBe("input on approval (run 2)");
    // The record taken, the graph finishes: the session closes, stopping the service.
    await streams.sendInput({ session: name, stream: "approval", text: "yes" });
    const done = await waitQuiet(sessions, session!.id);
    expect(done.status).toBe(SessionStatus.CLOSED);
    expect(done.exitCode).toBe(0);
  });

  it("waits take the oldest matching untaken record once, records sent before the wait included; peek shows without taking", async () => {
    const d = await daemon();
    const sessions = d.client(SessionService);
    const streams = d.client(StreamService);
    const file = writeTaskFile(`
tasks:
  take:
    streams: { go: input, items: input }
    cmd: |
      tether wait go >/dev/null
      tether wait items --peek
      tether wait items --correlation y
      tether wait items
      tether wait items
      tether wait items --timeout 200ms || echo "nothing left"
`);
    const { session } = await sessions.startSession({ task: "take", taskFile: file });
    const name = session!.name;
    await streams.sendInput({ session: name, stream: "items", text: "a", correlationId: "x" });
    await streams.sendInput({ session: name, stream: "items", text: "b", correlationId: "y" });
    await streams.sendInput({ session: name, stream: "items", text: "c" });
    const peeked = await streams.waitForInput({ session: name, stream: "items", correlationId: "x", peek: true });
    expect(text(peeked.record!.data)).toBe("a");
    await streams.sendInput({ session: name, stream: "go", text: "go" });
    await waitQuiet(sessions, session!.id);
    expect((await logText(sessions, session!.id)).stdout).toBe("a\nb\na\nc\nnothing left\n");
  });

  it("a wait whose session is cancelled ends with the reason", async () => {
    const { sessions, streams, session } = await holdingSession(await daemon(), "approval: input");
    await eventually(async () => ((await runStatus(sessions, session!.id)) === RunStatus.RUNNING ? true : undefined));
    const wait = failure(streams.waitForInput({ session: session!.name, run: 1, stream: "approval" }));
    await eventually(async () => ((await runStatus(sessions, session!.id)) === RunStatus.WAITING ? true : undefined));
    await sessions.cancelSession({ name: session!.name, reason: "not needed" });
    const ended = await wait;
    expect(ended.code).toBe(Code.FailedPrecondition);
    expect(ended.reason).toBe(ErrorReason.SESSION_NOT_OPEN);
    expect(ended.message).toContain("cancelled");
    expect(ended.message).toContain("not needed");
    const s = await waitQuiet(sessions, session!.id);
    expect(s.status).toBe(SessionStatus.CANCELLED);
  });

  it("a keep_open session stays open and idle; a record on its input stream queues a continuation run, in order", async () => {
    const d = await daemon();
    const sessions = d.client(SessionService);
    const streams = d.client(StreamService);
    const file = writeTaskFile(`
tasks:
  chat:
    keep_open: true
    streams: { msg: input }
    cmd: |
      m=$(tether wait msg --timeout 10s)
      echo "reply to $m"
`);
    const { session } = await sessions.startSession({ task: "chat", taskFile: file });
    const name = session!.name;
    await streams.sendInput({ session: name, stream: "msg", text: "hello" });
    const idle = await eventually(async () => {
      const { session: s } = await sessions.getSession({ name });
      return s!.activity === SessionActivity.IDLE && s!.exitCode === 0 ? s : undefined;
    });
    expect(idle!.status).toBe(SessionStatus.OPEN);
    await streams.sendInput({ session: name, stream: "msg", text: "again" });
    await eventually(async () => ((await sessions.listRuns({ parent: name })).runs.length === 2 ? true : undefined));
    await eventually(async () => {
      const { session: s } = await sessions.getSession({ name });
      return s!.activity === SessionActivity.IDLE && (await sessions.listRuns({ parent: name })).runs[1]!.status === RunStatus.SUCCEEDED ? true : undefined;
    });
    const { runs } = await sessions.listRuns({ parent: name });
    expect(runs.map((r) => [r.number, r.task, r.attempt, RunStatus[r.status]])).toEqual([
      [1, "chat", 1, "SUCCEEDED"],
      [2, "chat", 1, "SUCCEEDED"],
    ]);
    expect((await logText(sessions, session!.id)).stdout).toBe("reply to hello\nreply to again\n");
    const seen = await (async () => {
      await sessions.closeSession({ name });
      return attachUntilEnded(sessions, session!.id);
    })();
    expect(seen.some((e) => e.what.startsWith("change chat#2 PENDING continuation: new input on msg"))).toBe(true);
  });

  it("records sent while a run works each get a run of their own when the task takes one per run; a run that takes nothing does not loop", async () => {
    const d = await daemon();
    const sessions = d.client(SessionService);
    const streams = d.client(StreamService);
    const file = writeTaskFile(`
tasks:
  bot:
    keep_open: true
    streams: { msg: input }
    cmd: |
      m=$(tether wait msg --timeout 10s)
      sleep 0.3
      echo "reply to $m"
  deaf:
    keep_open: true
    streams: { msg: input }
    cmd: echo not listening
`);
    const quietRuns = async (name: string, count: number): Promise<void> => {
      await eventually(async () => {
        const { session: s } = await sessions.getSession({ name });
        const { runs } = await sessions.listRuns({ parent: name });
        return s!.activity === SessionActivity.IDLE && runs.length === count && runs.every((r) => r.status === RunStatus.SUCCEEDED) ? true : undefined;
      });
    };
    const { session: bot } = await sessions.startSession({ task: "bot", taskFile: file });
    // Three messages, the last two while the first run still works on the first.
    for (const m of ["one", "two", "three"]) await streams.sendInput({ session: bot!.name, stream: "msg", text: m });
    await quietRuns(bot!.name, 3);
    expect((await logText(sessions, bot!.id)).stdout).toBe("reply to one\nreply to two\nreply to three\n");

    const { session: deaf } = await sessions.startSession({ task: "deaf", taskFile: file });
    await quietRuns(deaf!.name, 1);
    await streams.sendInput({ session: deaf!.name, stream: "msg", text: "hello?" });
    await quietRuns(deaf!.name, 2);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await sessions.listRuns({ parent: deaf!.name })).runs).toHaveLength(2);
  });

  it("a keep_open conversation outlives the daemon: after kill -9 the run it cut is lost, the session stays open and the message that waited gets its run; a secret input it cannot have again is named", async () => {
    const d = await daemon();
    const sessions = d.client(SessionService);
    const streams = d.client(StreamService);
    const file = writeTaskFile(`
tasks:
  bot:
    keep_open: true
    streams: { msg: input }
    cmd: |
      m=$(tether wait msg --timeout 10s)
      [ "$m" = slow ] && sleep 300
      echo "reply to $m"
  vault:
    keep_open: true
    streams: { msg: input }
    inputs: { token: { type: secret } }
    cmd: m=$(tether wait msg --timeout 10s); echo "$m with $TETHER_INPUT_TOKEN"
`);
    const { session: bot } = await sessions.startSession({ task: "bot", taskFile: file });
    const { session: vault } = await sessions.startSession({ task: "vault", taskFile: file, inputs: { token: "s3cr3t-value" } });
    await streams.sendInput({ session: vault!.name, stream: "msg", text: "first" });
    await streams.sendInput({ session: bot!.name, stream: "msg", text: "slow" });
    await streams.sendInput({ session: bot!.name, stream: "msg", text: "next" });
    await eventually(async () => ((await sessions.listRuns({ parent: bot!.name })).runs[0]!.transitions.some((t) => t.reason === "took msg record 1") ? true : undefined));
    await eventually(async () => ((await sessions.getSession({ name: vault!.name })).session!.activity === SessionActivity.IDLE ? true : undefined));
    await d.kill();
    await d.restart();
    const after = d.client(SessionService);
    const runsOf = async (name: string): Promise<string[][]> => (await after.listRuns({ parent: name })).runs.map((r) => [RunStatus[r.status], r.reason]);
    await eventually(async () => ((await runsOf(bot!.name)).length === 2 && (await runsOf(bot!.name))[1]![0] === "SUCCEEDED" ? true : undefined));
    expect(await runsOf(bot!.name)).toEqual([
      ["LOST", "the daemon was not running (it stopped or crashed) while this run was live"],
      ["SUCCEEDED", "exited with code 0"],
    ]);
    const s = (await after.getSession({ name: bot!.name })).session!;
    expect([s.status, s.activity]).toEqual([SessionStatus.OPEN, SessionActivity.IDLE]);
    expect((await logText(after, bot!.id)).stdout).toBe("reply to next\n");

    // The secret lived only in the memory of the daemon that was killed: the next run says so instead of running without it.
    await d.client(StreamService).sendInput({ session: vault!.name, stream: "msg", text: "second" });
    const failed = await eventually(async () => (await after.listRuns({ parent: vault!.name })).runs[1]);
    await eventually(async () => ((await after.listRuns({ parent: vault!.name })).runs[1]!.status === RunStatus.FAILED ? true : undefined));
    expect(failed.number).toBe(2);
    const { stdout, stderr } = await logText(after, vault!.id);
    expect(stdout).toBe("first with ************\n");
    expect(stderr).toContain(`the secret input(s) token of session ${vault!.id} were kept only in the memory of the daemon that started it`);
    expect(stderr).toContain(`tether rerun ${vault!.id} --input token=...`);
  });

  it("a continuation first runs again what its task needs and no longer has: an upstream that failed, a service lost with the daemon", async () => {
    const d = await daemon();
    const sessions = d.client(SessionService);
    const file = writeTaskFile(`
tasks:
  prepare:
    cmd: test -f prepared || { touch prepared; exit 3; }
  api:
    cmd: echo up > api.state; exec sleep 300
    readiness: { cmd: "test -f api.state", interval: 100ms, timeout: 20s }
  bot:
    keep_open: true
    upstream: [prepare, api]
    streams: { msg: input }
    cmd: m=$(tether wait msg --timeout 10s); echo "reply to $m"
`);
    const { session } = await sessions.startSession({ task: "bot", taskFile: file });
    const name = session!.name;
    const runs = async (client = sessions): Promise<string[]> => (await client.listRuns({ parent: name })).runs.map((r) => `${r.task} ${RunStatus[r.status]}`);
    // Done: that many runs, each ended but the ready service, which stays live (the session reads running).
    const idleWith = async (client: typeof sessions, count: number): Promise<void> => {
      await eventually(async () => {
        const now = await runs(client);
        return now.length === count && now.every((r) => / (SUCCEEDED|SKIPPED|FAILED|LOST|READY)$/.test(r)) ? true : undefined;
      });
    };
    // prepare fails: bot is skipped, the session stays open (keep_open) with the failure.
    await idleWith(sessions, 3);
    expect(await runs()).toEqual(["prepare FAILED", "api READY", "bot SKIPPED"]);
    await d.client(StreamService).sendInput({ session: name, stream: "msg", text: "one" });
    await idleWith(sessions, 5);
    // prepare runs again (the ready service does not), then bot.
    expect(await runs()).toEqual(["prepare FAILED", "api READY", "bot SKIPPED", "prepare SUCCEEDED", "bot SUCCEEDED"]);

    await d.kill();
    await d.restart();
    const after = d.client(SessionService);
    await d.client(StreamService).sendInput({ session: name, stream: "msg", text: "two" });
    await idleWith(after, 7);
    // The service was lost with the daemon: it runs again, and bot after it is ready.
    expect((await runs(after)).slice(1)).toEqual(["api LOST", "bot SKIPPED", "prepare SUCCEEDED", "bot SUCCEEDED", "api READY", "bot SUCCEEDED"]);
    expect((await logText(after, session!.id)).stdout).toBe("reply to one\nreply to two\n");
  });

  it("a task with stdin: stream is fed the stdin stream's records in order; an empty record closes its stdin", async () => {
    const d = await daemon();
    const sessions = d.client(SessionService);
    const streams = d.client(StreamService);
    const file = writeTaskFile(`
tasks:
  count:
    stdin: stream
    cmd: wc -l
`);
    const { session } = await sessions.startSession({ task: "count", taskFile: file });
    for (const line of ["one\n", "two\n", "three\n"]) await streams.sendInput({ session: session!.name, stream: "stdin", text: line });
    await streams.sendInput({ session: session!.name, stream: "stdin", data: new Uint8Array() });
    const done = await waitQuiet(sessions, session!.id);
    expect(done.exitCode).toBe(0);
    expect((await logText(sessions, session!.id)).stdout.trim()).toBe("3");
  });

  it("acknowledged records (input sent, output written by a run) survive kill -9 of the daemon, and their idempotency keys still hold", async () => {
    const d = await daemon();
    const { sessions, streams, session } = await holdingSession(d, "inbox: input, events: output");
    await Promise.all(Array.from({ length: 50 }, (_, i) => streams.sendInput({ session: session!.name, stream: "inbox", text: `r${i}`, idempotencyKey: `k${i}` })));
    await eventually(async () => ((await runStatus(sessions, session!.id)) === RunStatus.RUNNING ? true : undefined));
    for (let i = 0; i < 5; i++) {
      await streams.writeOutput({ session: session!.name, run: 1, stream: "events", records: Array.from({ length: 10 }, (_, j) => ({ data: Buffer.from(`e${i * 10 + j}`) })) });
    }
    await d.kill();
    await d.restart();
    const after = d.client(StreamService);
    const records = [];
    for await (const msg of after.readStream({ session: session!.name, stream: "inbox" })) records.push(...msg.records);
    expect(records.map((r) => Number(r.sequence))).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(new Set(records.map((r) => text(r.data))).size).toBe(50);
    const events = [];
    for await (const msg of after.readStream({ session: session!.name, stream: "events" })) events.push(...msg.records);
    expect(events.map((r) => text(r.data))).toEqual(Array.from({ length: 50 }, (_, i) => `e${i}`));
    const retry = await after.sendInput({ session: session!.name, stream: "inbox", text: "r7 again", idempotencyKey: "k7" });
    expect(retry.duplicate).toBe(true);
    expect(text(retry.record!.data)).toBe("r7");
  });

  it("curl sends input and reads records with the Connect protocol's JSON", async () => {
    const d = await daemon();
    const { session } = await holdingSession(d, "inbox: input");
    const curl = (method: string, body: object): string => {
      const r = spawnSync("curl", ["-s", "--unix-socket", d.socketPath, "-H", "Content-Type: application/json", "-d", JSON.stringify(body), `http://localhost/tether.v1.StreamService/${method}`], { encoding: "utf8" });
      if (r.error !== undefined) throw new Error(`curl is needed for this test (.ci/run installs it): ${r.error.message}`);
      return r.stdout;
    };
    const sent = JSON.parse(curl("SendInput", { session: session!.name, stream: "inbox", text: "hello from curl" })) as { record: { sequence: string; contentType: string } };
    expect(sent.record.sequence).toBe("1");
    expect(sent.record.contentType).toBe("text/plain");
    // A server stream in Connect's JSON is enveloped: 1 flag byte and a 4-byte length before each message.
    const request = Buffer.from(JSON.stringify({ session: session!.name, stream: "inbox" }));
    const envelope = Buffer.concat([Buffer.from([0, 0, 0, 0, request.length]), request]);
    const r = spawnSync("curl", ["-s", "--unix-socket", d.socketPath, "-H", "Content-Type: application/connect+json", "--data-binary", "@-", "http://localhost/tether.v1.StreamService/ReadStream"], { input: envelope });
    const frames = r.stdout.toString("latin1");
    expect(frames).toContain(Buffer.from("hello from curl").toString("base64"));
    expect(frames).toContain('"contentType":"text/plain"');
    const refused = JSON.parse(curl("SendInput", { session: session!.name, stream: "nope", text: "x" })) as { code: string; message: string };
    expect(refused.code).toBe("not_found");
    expect(refused.message).toContain("inbox (input)");
    // A request that names the session in another field than StreamService's `session` hears which fields there are; one that names none, which to fill.
    const misnamed = JSON.parse(curl("SendInput", { sessionId: session!.name, stream: "inbox", text: "x" })) as { code: string; message: string };
    expect(misnamed.code).toBe("invalid_argument");
    expect(misnamed.message).toContain('SendInputRequest has no field "sessionId": did you mean session? The fields it has are session, stream, data, text,');
    const unnamed = JSON.parse(curl("SendInput", { stream: "inbox", text: "x" })) as { code: string; message: string; details: { debug: { metadata: { field: string } } }[] };
    expect(unnamed.code).toBe("invalid_argument");
    expect(unnamed.message).toContain("session field");
    expect(unnamed.details[0]!.debug.metadata.field).toBe("session");
  });
});
