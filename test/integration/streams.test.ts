import { Code, type Client } from "@connectrpc/connect";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ErrorReason } from "../../gen/tether/v1/errors_pb.js";
import { LogStream, RunStatus, SessionActivity, SessionStatus } from "../../gen/tether/v1/session_pb.js";
import { SessionService } from "../../gen/tether/v1/session_service_pb.js";
import { StreamService } from "../../gen/tether/v1/stream_service_pb.js";
import { daemonPerTest } from "../helpers/daemon.js";
import { failure } from "../helpers/errors.js";
import { eventually, waitQuiet, writeTaskFile } from "../helpers/sessions.js";
import { AttachRequests, attachUntilEnded, describeAttachEvents, type SeenEvent } from "../helpers/streams.js";

const daemon = daemonPerTest();

async function stdoutOf(client: Client<typeof SessionService>, id: string): Promise<string> {
  let out = "";
  for await (const msg of client.readSessionLogs({ name: `sessions/${id}` })) {
    for (const c of msg.chunks) if (c.stream === LogStream.STDOUT) out += Buffer.from(c.data).toString();
  }
  return out;
}

async function runStatus(client: Client<typeof SessionService>, id: string, run = 1): Promise<RunStatus> {
  return (await client.listRuns({ parent: `sessions/${id}` })).runs[run - 1]?.status ?? RunStatus.UNSPECIFIED;
}

const text = (data: Uint8Array): string => Buffer.from(data).toString();

describe("session streams", () => {
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
    expect(records.map((r) => [r.sequence, r.correlationId, r.idempotencyKey])).toEqual([
      [1n, "c1", "k1"],
      [2n, "", ""],
    ]);

    const unknown = await failure(streams.sendInput({ session: name, stream: "nope", text: "x" }));
    expect(unknown.code).toBe(Code.NotFound);
    expect(unknown.reason).toBe(ErrorReason.STREAM_NOT_FOUND);
    expect(unknown.message).toContain("approval (input), events (output)");
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
    const noSession = await failure(streams.sendInput({ session: "sessions/s-zzzzz", stream: "approval", text: "x" }));
    expect(noSession.code).toBe(Code.NotFound);
    const notARun = await failure(streams.writeOutput({ session: name, run: 7, stream: "events", records: [{ data: Buffer.from("x") }] }));
    expect(notARun.reason).toBe(ErrorReason.RUN_NOT_FOUND);

    await sessions.cancelSession({ name });
    const closed = await failure(streams.sendInput({ session: name, stream: "approval", text: "late" }));
    expect(closed.code).toBe(Code.FailedPrecondition);
    expect(closed.reason).toBe(ErrorReason.SESSION_NOT_OPEN);
    expect(closed.message).toContain("it is cancelled");
    // A retry of an acknowledged send is still a no-op, not an error.
    expect((await streams.sendInput({ session: name, stream: "approval", text: "retry", idempotencyKey: "k1" })).duplicate).toBe(true);
    // Nothing refused was stored.
    const after = [];
    for await (const msg of streams.readStream({ session: name, stream: "approval" })) after.push(...msg.records);
    expect(after.length).toBe(2);
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
    const out = await stdoutOf(sessions, session!.id);
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
    expect(await stdoutOf(sessions, session!.id)).toBe("a\nb\na\nc\nnothing left\n");
  });

  it("a wait whose session is cancelled ends with the reason", async () => {
    const d = await daemon();
    const sessions = d.client(SessionService);
    const streams = d.client(StreamService);
    const file = writeTaskFile(`
tasks:
  hold:
    streams: { approval: input }
    cmd: sleep 300
`);
    const { session } = await sessions.startSession({ task: "hold", taskFile: file });
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
    expect(await stdoutOf(sessions, session!.id)).toBe("reply to hello\nreply to again\n");
    const seen = await (async () => {
      await sessions.closeSession({ name });
      return attachUntilEnded(sessions, session!.id);
    })();
    expect(seen.some((e) => e.what.startsWith("change chat#2 PENDING continuation: new input on msg"))).toBe(true);
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
    expect((await stdoutOf(sessions, session!.id)).trim()).toBe("3");
  });

  it("acknowledged records (input sent, output written by a run) survive kill -9 of the daemon, and their idempotency keys still hold", async () => {
    const d = await daemon();
    const sessions = d.client(SessionService);
    const streams = d.client(StreamService);
    const file = writeTaskFile(`tasks:\n  hold: { streams: { inbox: input, events: output }, cmd: "sleep 300" }\n`);
    const { session } = await sessions.startSession({ task: "hold", taskFile: file });
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
    const sessions = d.client(SessionService);
    const file = writeTaskFile(`tasks:\n  hold: { streams: { inbox: input }, cmd: "sleep 300" }\n`);
    const { session } = await sessions.startSession({ task: "hold", taskFile: file });
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
  });
});

describe("attach", () => {
  it("two attached clients see identical ordered events (changes, output, records), and a later attach replays the same order", async () => {
    const d = await daemon();
    const sessions = d.client(SessionService);
    const streams = d.client(StreamService);
    const file = writeTaskFile(`
tasks:
  prep:
    cmd: echo prepared
  talk:
    upstream: [prep]
    streams: { q: input, a: output }
    cmd: |
      echo asking
      seq 1 300 | tether output a --lines
      q=$(tether wait q --timeout 60s)
      echo "answer to $q" >&2
      tether output a "done $q"
`);
    const { session } = await sessions.startSession({ task: "talk", taskFile: file });
    const id = session!.id;
    const first = attachUntilEnded(sessions, id);
    const second = attachUntilEnded(sessions, id);
    await eventually(async () => ((await runStatus(sessions, id, 2)) === RunStatus.WAITING ? true : undefined));
    await streams.sendInput({ session: session!.name, stream: "q", text: "why" });
    const [a, b] = await Promise.all([first, second]);
    const later = await attachUntilEnded(sessions, id);
    expect(a.length).toBeGreaterThan(300);
    expect(b).toEqual(a);
    expect(later).toEqual(a);
    const positions = a.map((e) => e.position);
    expect(positions).toEqual([...positions].sort((x, y) => x - y));
    expect(new Set(positions).size).toBe(positions.length);
    const whats = a.map((e) => e.what);
    const index = (prefix: string): number => whats.findIndex((w) => w.startsWith(prefix));
    // One causal order: prep's output before talk runs, the question before the answer, the answer before the session closes.
    expect(index("output prep stdout prepared")).toBeLessThan(index("change talk#2 RUNNING"));
    expect(index("record q#1 why")).toBeLessThan(index("output talk stderr answer to why"));
    expect(index("record a#300 300")).toBeLessThan(index("record q#1 why"));
    expect(index("record a#301 done why")).toBeLessThan(whats.length - 1);
    // From a position: the tail of the same sequence.
    const middle = a[Math.floor(a.length / 2)]!.position;
    expect(await attachUntilEnded(sessions, id, middle)).toEqual(a.filter((e) => e.position >= middle));
  });

  it("input sent through attach resumes a wait, and the wait survives a client that detached and a new one that reconnects", async () => {
    const d = await daemon();
    const sessions = d.client(SessionService);
    const file = writeTaskFile(`
tasks:
  ask:
    streams: { answer: input }
    cmd: |
      a=$(tether wait answer --timeout 60s)
      echo "got $a"
`);
    const { session } = await sessions.startSession({ task: "ask", taskFile: file });
    const id = session!.id;
    await eventually(async () => ((await runStatus(sessions, id)) === RunStatus.WAITING ? true : undefined));
    // A client attaches and goes away without sending.
    const gone = new AbortController();
    const firstRequests = new AttachRequests();
    firstRequests.push({ kind: { case: "open", value: { session: `sessions/${id}` } } });
    const firstSeen: SeenEvent[] = [];
    const firstDone = (async () => {
      try {
        for await (const message of sessions.attachSession(firstRequests, { signal: gone.signal })) {
          firstSeen.push(...describeAttachEvents(message));
          if (firstSeen.some((e) => e.what.includes("WAITING"))) gone.abort();
        }
      } catch {
        // aborted on purpose
      }
    })();
    await firstDone;
    expect(await runStatus(sessions, id)).toBe(RunStatus.WAITING);
    // A new client reconnects and answers through attach.
    const requests = new AttachRequests();
    requests.push({ kind: { case: "open", value: { session: `sessions/${id}`, withoutOutput: false } } });
    requests.push({ kind: { case: "input", value: { stream: "nope", data: Buffer.from("x"), clientRef: 1n } } });
    requests.push({ kind: { case: "input", value: { stream: "answer", data: Buffer.from("yes"), contentType: "text/plain", clientRef: 2n } } });
    const answers: string[] = [];
    let opened = false;
    let ended = false;
    for await (const message of sessions.attachSession(requests)) {
      if (message.kind.case === "opened") opened = message.kind.value.streams.includes("answer");
      if (message.kind.case === "rejected") answers.push(`rejected ${message.kind.value.clientRef} ${Code[message.kind.value.code]}`);
      if (message.kind.case === "accepted") answers.push(`accepted ${message.kind.value.clientRef} #${message.kind.value.record!.sequence}`);
      if (message.kind.case === "events" && message.kind.value.ended) {
        ended = true;
        requests.end();
      }
    }
    expect(opened).toBe(true);
    expect(ended).toBe(true);
    expect(answers).toEqual(["rejected 1 NotFound", "accepted 2 #1"]);
    expect(await stdoutOf(sessions, id)).toBe("got yes\n");
  });

  it("several inputs in one message are stored in order and answered together, each on its own: a refused one stores nothing and stops no other", async () => {
    const d = await daemon();
    const sessions = d.client(SessionService);
    const streams = d.client(StreamService);
    const file = writeTaskFile(`
tasks:
  hold:
    streams: { inbox: input }
    cmd: sleep 300
`);
    const { session } = await sessions.startSession({ task: "hold", taskFile: file });
    const requests = new AttachRequests();
    requests.push({ kind: { case: "open", value: { session: session!.name, streams: ["inbox"], withoutOutput: true } } });
    const input = (clientRef: bigint, stream: string, data: string, idempotencyKey = ""): { stream: string; data: Buffer; clientRef: bigint; idempotencyKey: string } => ({ stream, data: Buffer.from(data), clientRef, idempotencyKey });
    requests.push({ kind: { case: "inputs", value: { inputs: [input(1n, "inbox", "a", "k"), input(2n, "nope", "x"), input(3n, "inbox", "b"), input(4n, "inbox", "again", "k")] } } });
    requests.push({ kind: { case: "inputs", value: { inputs: Array.from({ length: 500 }, (_, i) => input(BigInt(10 + i), "inbox", `n${i}`)) } } });
    const answered: string[][] = [];
    const records: string[] = [];
    const done = new AbortController();
    try {
      for await (const message of sessions.attachSession(requests, { signal: done.signal })) {
        expect(["accepted", "rejected"]).not.toContain(message.kind.case);
        if (message.kind.case === "answers") {
          answered.push(
            message.kind.value.answers.map(({ kind }) =>
              kind.case === "accepted"
                ? `${kind.value.clientRef} #${kind.value.record!.sequence}${kind.value.duplicate ? " duplicate" : ""}`
                : kind.case === "rejected"
                  ? `${kind.value.clientRef} ${Code[kind.value.code]}`
                  : "unanswered",
            ),
          );
        }
        records.push(...describeAttachEvents(message).flatMap((e) => (e.what.startsWith("record") ? [e.what] : [])));
        if (records.length === 502 && answered.length === 2) done.abort();
      }
    } catch (error) {
      if (!done.signal.aborted) throw error;
    }
    expect(answered[0]).toEqual(["1 #1", "2 NotFound", "3 #2", "4 #1 duplicate"]);
    expect(answered[1]).toEqual(Array.from({ length: 500 }, (_, i) => `${10 + i} #${3 + i}`));
    expect(records.slice(0, 3)).toEqual(["record inbox#1 a", "record inbox#2 b", "record inbox#3 n0"]);
    const stored = [];
    for await (const msg of streams.readStream({ session: session!.name, stream: "inbox" })) stored.push(...msg.records.map((r) => text(r.data)));
    expect(stored).toEqual(["a", "b", ...Array.from({ length: 500 }, (_, i) => `n${i}`)]);
    await sessions.cancelSession({ name: session!.name });
  });

  it("a client that floods inputs and reads no answers is held back by flow control: the daemon stays small, others are served, and every input is answered once it reads", async () => {
    const d = await daemon();
    const sessions = d.client(SessionService);
    const streams = d.client(StreamService);
    const file = writeTaskFile(`
tasks:
  hold:
    streams: { inbox: input }
    cmd: sleep 300
`);
    const { session } = await sessions.startSession({ task: "hold", taskFile: file });
    const inboxNext = async (): Promise<number> => Number((await sessions.getSession({ name: session!.name })).session!.streams.find((st) => st.name === "inbox")!.nextSequence);
    // 128 MiB of inputs, pushed at once; the client then reads nothing.
    const messages = 128;
    const perMessage = 1024;
    const requests = new AttachRequests();
    requests.push({ kind: { case: "open", value: { session: session!.name, streams: ["stdin"], withoutOutput: true } } });
    for (let m = 0; m < messages; m++) {
      requests.push({ kind: { case: "inputs", value: { inputs: Array.from({ length: perMessage }, (_, i) => ({ stream: "inbox", data: Buffer.alloc(1024, 97), clientRef: BigInt(m * perMessage + i + 1) })) } } });
    }
    const flood = sessions.attachSession(requests)[Symbol.asyncIterator]();
    expect((await flood.next()).value?.kind.case).toBe("opened");
    // The daemon stores what it took, then stops taking more until answers go out.
    let stored = await inboxNext();
    for (;;) {
      await new Promise((r) => setTimeout(r, 1000));
      const now = await inboxNext();
      if (now === stored) break;
      stored = now;
    }
    expect(stored - 1).toBeLessThan((messages * perMessage) / 4);
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${d.process.pid}/status`, "utf8"))![1]);
    expect(rssKb).toBeLessThan(256 * 1024);
    // Others are served meanwhile.
    expect((await streams.sendInput({ session: session!.name, stream: "inbox", text: "from another client" })).record!.sequence).toBe(BigInt(stored));
    // Reading again, the flooding client gets every answer, in order.
    let next = 0n;
    for (let message = await flood.next(); message.done !== true; message = await flood.next()) {
      if (message.value.kind.case !== "answers") continue;
      for (const { kind } of message.value.kind.value.answers) {
        expect(kind.case).toBe("accepted");
        if (kind.case === "accepted") expect(kind.value.clientRef).toBe(++next);
      }
      if (next === BigInt(messages * perMessage)) break;
    }
    expect(next).toBe(BigInt(messages * perMessage));
    expect(await inboxNext()).toBe(messages * perMessage + 2);
    await sessions.cancelSession({ name: session!.name });
  });

  it("a client that attaches and never reads slows neither the task nor another reader, and the daemon does not buffer for it", async () => {
    const d = await daemon();
    const sessions = d.client(SessionService);
    // 3,000 records of 64 KiB: 192 MiB through the daemon, far more than it may hold for one stuck client.
    const file = writeTaskFile(`
tasks:
  flood:
    streams: { events: output }
    cmd: yes "$(head -c 65535 /dev/zero | tr '\\0' x)" | head -n 3000 | tether output events --lines
`);
    const { session } = await sessions.startSession({ task: "flood", taskFile: file });
    const id = session!.id;
    // The stuck client: opens, takes the first message, then never reads again.
    const stuckRequests = new AttachRequests();
    stuckRequests.push({ kind: { case: "open", value: { session: `sessions/${id}` } } });
    const stuck = sessions.attachSession(stuckRequests)[Symbol.asyncIterator]();
    await stuck.next();
    const seen = await attachUntilEnded(sessions, id);
    const records = seen.filter((e) => e.what.startsWith("record events#"));
    expect(records.length).toBe(3000);
    expect(records.every((r, i) => r.what.startsWith(`record events#${i + 1} xxxx`))).toBe(true);
    const done = await waitQuiet(sessions, id);
    expect(done.status).toBe(SessionStatus.CLOSED);
    const peakKb = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${d.process.pid}/status`, "utf8"))![1]);
    console.log(`daemon peak RSS with a stuck client: ${Math.round(peakKb / 1024)} MB`);
    expect(peakKb).toBeLessThan(256 * 1024);
    // The stuck client can still catch up, from the store.
    let caught = 0;
    for (let next = await stuck.next(); next.done !== true; next = await stuck.next()) {
      caught += describeAttachEvents(next.value).filter((e) => e.what.startsWith("record events#")).length;
      if (next.value.kind.case === "events" && next.value.kind.value.ended) stuckRequests.end();
    }
    expect(caught).toBe(3000);
  });
});
