import { Code } from "@connectrpc/connect";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { RunStatus, SessionStatus } from "../../gen/tether/v1/session_pb.js";
import { SessionService } from "../../gen/tether/v1/session_service_pb.js";
import { StreamService } from "../../gen/tether/v1/stream_service_pb.js";
import { daemonPerTest } from "../helpers/daemon.js";
import { eventually, logText, runStatus, waitQuiet, writeTaskFile } from "../helpers/sessions.js";
import { AttachRequests, attachUntilEnded, describeAttachEvents, holdingSession, type SeenEvent } from "../helpers/streams.js";

const daemon = daemonPerTest();

const text = (data: Uint8Array): string => Buffer.from(data).toString();

/** A session whose task holds still with an input stream, inbox, for clients to send to. */
async function holdingInbox() {
  const d = await daemon();
  return { d, ...(await holdingSession(d, "inbox: input")) };
}

describe("session attach", () => {
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

  it("with a window, at most that many events go past the last one acknowledged, and each ack lets as many more through; a window past the limit is refused", async () => {
    const d = await daemon();
    const sessions = d.client(SessionService);
    const file = writeTaskFile("tasks:\n  emit:\n    streams: { a: output }\n    cmd: seq 1 50 | tether output a --lines; sleep 60\n");
    const { session } = await sessions.startSession({ task: "emit", taskFile: file });
    const stored = async (): Promise<true | undefined> => {
      let records = 0;
      for await (const msg of d.client(StreamService).readStream({ session: session!.name, stream: "a" })) records += msg.records.length;
      return records === 50 ? true : undefined;
    };
    await eventually(stored);
    const requests = new AttachRequests();
    requests.push({ kind: { case: "open", value: { session: session!.name, streams: ["a"], withoutOutput: true, window: 10 } } });
    const responses = sessions.attachSession(requests)[Symbol.asyncIterator]();
    const positions: number[] = [];
    let pending: ReturnType<typeof responses.next> | undefined;
    /** Reads until nothing more comes for 300 ms; how many events have come in all. */
    const read = async (): Promise<number> => {
      for (;;) {
        pending ??= responses.next();
        const next = await Promise.race([pending, new Promise<"quiet">((r) => setTimeout(() => r("quiet"), 300))]);
        if (next === "quiet") return positions.length;
        pending = undefined;
        if (next.done === true) return positions.length;
        if (next.value.kind.case === "events") positions.push(...next.value.kind.value.events.map((e) => Number(e.position)));
        if (next.value.kind.case === "opened") livePosition = Number(next.value.kind.value.livePosition);
      }
    };
    let livePosition = 0;
    // Ten, and no more while none is acknowledged.
    expect(await read()).toBe(10);
    // An ack of the fifth lets five more through.
    requests.push({ kind: { case: "ack", value: { position: BigInt(positions[4]!) } } });
    expect(await read()).toBe(15);
    // Acknowledging the last each time, ten more each time, until every record has come.
    for (let before = 15; ; before = positions.length) {
      requests.push({ kind: { case: "ack", value: { position: BigInt(positions.at(-1)!) } } });
      const now = await read();
      if (now === before) break;
      expect(now - before).toBeLessThanOrEqual(10);
    }
    expect(positions.length).toBeGreaterThanOrEqual(50);
    expect(positions).toEqual([...positions].sort((x, y) => x - y));
    // All of it was backlog: the session had reached the position after its last event when the client attached.
    expect(livePosition).toBe(positions.at(-1)! + 1);
    requests.end();
    await sessions.cancelSession({ name: session!.name });

    const refused = new AttachRequests();
    refused.push({ kind: { case: "open", value: { session: session!.name, window: 65_537 } } });
    refused.end();
    const error = await (async () => {
      for await (const _ of sessions.attachSession(refused));
    })().catch((e: unknown) => e as Error);
    expect([(error as { code?: Code }).code, (error as Error).message]).toEqual([Code.InvalidArgument, "[invalid_argument] window is 65537 events, more than 65536: ask for fewer (0: no acknowledgements, HTTP/2 flow control alone)"]);
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
    expect((await logText(sessions, id)).stdout).toBe("got yes\n");
  });

  it("several inputs in one message are stored in order and answered together, each on its own: a refused one stores nothing and stops no other", async () => {
    const { sessions, streams, session } = await holdingInbox();
    const requests = new AttachRequests();
    requests.push({ kind: { case: "open", value: { session: session.name, streams: ["inbox"], withoutOutput: true } } });
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
    for await (const msg of streams.readStream({ session: session.name, stream: "inbox" })) stored.push(...msg.records.map((r) => text(r.data)));
    expect(stored).toEqual(["a", "b", ...Array.from({ length: 500 }, (_, i) => `n${i}`)]);
    await sessions.cancelSession({ name: session.name });
  });

  it("a client that floods inputs and reads no answers is held back by flow control: the daemon stays small, others are served, and every input is answered once it reads", async () => {
    const { d, sessions, streams, session } = await holdingInbox();
    const inboxNext = async (): Promise<number> => Number((await sessions.getSession({ name: session.name })).session!.streams.find((st) => st.name === "inbox")!.nextSequence);
    // 128 MiB of inputs, pushed at once; the client then reads nothing.
    const messages = 128;
    const perMessage = 1024;
    const requests = new AttachRequests();
    requests.push({ kind: { case: "open", value: { session: session.name, streams: ["stdin"], withoutOutput: true } } });
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
    expect((await streams.sendInput({ session: session.name, stream: "inbox", text: "from another client" })).record!.sequence).toBe(BigInt(stored));
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
    await sessions.cancelSession({ name: session.name });
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
