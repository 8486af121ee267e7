import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { connect } from "node:net";
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import type { Event } from "../../gen/tether/v1/event_pb.js";
import { EventService } from "../../gen/tether/v1/event_service_pb.js";
import { ExecService } from "../../gen/tether/v1/exec_service_pb.js";
import { PtyService } from "../../gen/tether/v1/pty_service_pb.js";
import { SessionActivity } from "../../gen/tether/v1/session_pb.js";
import { SessionService } from "../../gen/tether/v1/session_service_pb.js";
import { WorkspaceService } from "../../gen/tether/v1/workspace_service_pb.js";
import { daemonPerTest } from "../helpers/daemon.js";
import { failure } from "../helpers/errors.js";
import { ExecRequests } from "../helpers/execs.js";
import { eventually, waitQuiet, writeTaskFile } from "../helpers/sessions.js";

const daemon = daemonPerTest();

/** A watch whose events are gathered as they come; `first` resolves with the first answer (the kept ones). */
function watch(client: Client<typeof EventService>, request: Parameters<Client<typeof EventService>["watchEvents"]>[0] = {}) {
  const stop = new AbortController();
  const events: Event[] = [];
  let missed = 0n;
  let failed: unknown;
  let resolveFirst!: (events: Event[]) => void;
  const first = new Promise<Event[]>((resolve) => (resolveFirst = resolve));
  const done = (async () => {
    let answers = 0;
    try {
      for await (const answer of client.watchEvents(request, { signal: stop.signal })) {
        events.push(...answer.events);
        missed += answer.missed;
        if (answers++ === 0) resolveFirst([...answer.events]);
      }
    } catch (error) {
      // Said by the test that looks (a daemon stopped under a test that failed first is no news).
      if (!stop.signal.aborted) failed = error;
    }
  })();
  return { events, first, missed: () => missed, failed: () => failed, stop: () => stop.abort(), done };
}

/** What an event says, without its time and sequence. */
function said(e: Event): [string, string, string, Record<string, string>] {
  return [e.type, e.action, e.id, e.attributes];
}

/** Starts an exec and leaves it running; its id. */
async function runExecDetached(execs: Client<typeof ExecService>, argv: string[]): Promise<string> {
  const requests = new ExecRequests();
  requests.push({ kind: { case: "start", value: { workspace: "w", argv } } });
  requests.end();
  for await (const response of execs.exec(requests)) if (response.kind.case === "started") return response.kind.value.exec!.id;
  throw new Error("no started answer");
}

async function runExec(execs: Client<typeof ExecService>, argv: string[]): Promise<string> {
  const requests = new ExecRequests();
  requests.push({ kind: { case: "start", value: { workspace: "w", argv, displayName: "job" } } });
  requests.end();
  let id = "";
  for await (const response of execs.exec(requests)) if (response.kind.case === "started") id = response.kind.value.exec!.id;
  return id;
}

describe("events (EventService.WatchEvents, tether events)", () => {
  it("reports workspaces, execs, PTYs and sessions as they change, in order, each once its change is stored", async () => {
    const d = await daemon();
    const watcher = watch(d.client(EventService));
    expect(await watcher.first).toEqual([]);
    const { workspace } = await d.client(WorkspaceService).createWorkspace({ displayName: "w" });
    const ws = workspace!.id;
    const exec = await runExec(d.client(ExecService), ["sh", "-c", "exit 3"]);
    const ptys = d.client(PtyService);
    const pty = (await ptys.createPty({ spec: { workspace: "w", argv: ["sleep", "60"] } })).pty!;
    // A client that attaches (read-only here) and goes.
    const reader = new AbortController();
    for await (const _ of ptys.readPty({ pty: pty.id }, { signal: reader.signal })) {
      reader.abort();
      break;
    }
    await eventually(() => (watcher.events.some((e) => e.action === "detach") ? true : undefined));
    await ptys.closePty({ pty: pty.id });
    await d.client(ExecService).deleteExec({ exec });
    const sessions = d.client(SessionService);
    const taskFile = writeTaskFile("tasks:\n  first:\n    cmd: 'true'\n  main:\n    cmd: 'exit 4'\n    upstream: [first]\n");
    const session = (await sessions.startSession({ task: "main", taskFile, workspace: "w", labels: { job: "42" } })).session!;
    await waitQuiet(sessions, session.id);
    await d.client(WorkspaceService).deleteWorkspace({ workspace: "w" });
    await eventually(() => (watcher.events.some((e) => e.type === "workspace" && e.action === "remove") ? true : undefined));
    watcher.stop();
    await watcher.done;

    const { events } = watcher;
    expect(events.map((e) => Number(e.sequence))).toEqual(events.map((_, i) => i + 1));
    const times = events.map((e) => Number(e.time!.seconds) * 1000 + e.time!.nanos / 1e6);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    const s = session.id;
    const pid = (e: Event | undefined): string => e?.attributes["pid"] ?? "";
    expect(events.map(said)).toEqual([
      ["workspace", "create", ws, { name: "w", root: workspace!.root, sandbox: "host" }],
      ["exec", "start", exec, { workspace: ws, status: "running", name: "job", pid: pid(events[1]) }],
      ["exec", "end", exec, { workspace: ws, status: "exited", name: "job", exit_code: "3" }],
      ["pty", "open", pty.id, { workspace: ws, status: "running", pid: pid(events[3]) }],
      ["pty", "attach", pty.id, { workspace: ws, status: "running", clients: "1", read_only: "true" }],
      ["pty", "detach", pty.id, { workspace: ws, status: "running", clients: "0" }],
      ["pty", "close", pty.id, expect.objectContaining({ workspace: ws, status: "signalled", signal: "SIGHUP" })],
      ["exec", "remove", exec, { workspace: ws, status: "exited", name: "job", exit_code: "3" }],
      ["session", "start", s, { task: "main", status: "open", activity: "queued" }],
      ["session", "run", s, { task: "first", run: "1", attempt: "1", status: "queued" }],
      ["session", "run", s, { task: "first", run: "1", attempt: "1", status: "running" }],
      ["session", "activity", s, { task: "main", activity: "running" }],
      ["session", "run", s, { task: "first", run: "1", attempt: "1", status: "succeeded", exit_code: "0", reason: "exited with code 0" }],
      // Between its runs the session's activity is what it is: queued while main waits for its slot.
      ["session", "activity", s, { task: "main", activity: "queued" }],
      ["session", "run", s, { task: "main", run: "2", attempt: "1", status: "queued" }],
      ["session", "run", s, { task: "main", run: "2", attempt: "1", status: "running" }],
      ["session", "activity", s, { task: "main", activity: "running" }],
      ["session", "run", s, { task: "main", run: "2", attempt: "1", status: "failed", exit_code: "4", reason: "exited with code 4" }],
      ["session", "activity", s, { task: "main", activity: "idle" }],
      ["session", "end", s, { task: "main", status: "closed", reason: "graph finished", exit_code: "4" }],
      // Removing the workspace removes what it kept.
      ["pty", "remove", pty.id, expect.objectContaining({ workspace: ws, status: "signalled" })],
      ["workspace", "remove", ws, { name: "w" }],
    ]);
    expect(Number(pid(events[1]))).toBeGreaterThan(0);
    // Each with its resource's labels.
    const sessionEvents = events.filter((e) => e.type === "session");
    expect(sessionEvents.map((e) => e.labels)).toEqual(sessionEvents.map(() => ({ job: "42" })));
  });

  it("a watch starts with the kept events from a time or after a sequence, filtered by type and id; a reconnecting watcher misses none", async () => {
    const d = await daemon();
    const workspaces = d.client(WorkspaceService);
    const before = Date.now();
    for (const name of ["a", "b", "c"]) await workspaces.createWorkspace({ displayName: name, labels: name === "b" ? { team: "x" } : {} });
    const events = d.client(EventService);
    const all = await firstAnswer(events, { since: timestampFromMs(before) });
    expect(all.map((e) => [Number(e.sequence), e.attributes["name"]])).toEqual([
      [1, "a"],
      [2, "b"],
      [3, "c"],
    ]);
    const after = watch(events, { afterSequence: 2n });
    expect((await after.first).map((e) => e.attributes["name"])).toEqual(["c"]);
    await workspaces.createWorkspace({ displayName: "d" });
    await eventually(() => (after.events.length === 2 ? true : undefined));
    expect(after.events.map((e) => Number(e.sequence))).toEqual([3, 4]);
    after.stop();
    expect(await firstAnswer(events, { afterSequence: 4n })).toEqual([]);
    expect(await firstAnswer(events, { since: timestampFromMs(before), types: ["exec"] })).toEqual([]);
    expect((await firstAnswer(events, { since: timestampFromMs(before), ids: [all[1]!.id] })).map((e) => e.id)).toEqual([all[1]!.id]);
    for (const selector of ["team=x", "team"]) {
      expect((await firstAnswer(events, { since: timestampFromMs(before), labelSelector: [selector] })).map((e) => [e.attributes["name"], e.labels])).toEqual([["b", { team: "x" }]]);
    }
    expect(await firstAnswer(events, { since: timestampFromMs(before), labelSelector: ["team=y"] })).toEqual([]);
    expect(await failure(collectFirst(events, { labelSelector: ["no key"] }))).toMatchObject({ code: Code.InvalidArgument, message: expect.stringContaining('label selector "no key"') });

    expect(await failure(collectFirst(events, { since: timestampFromMs(before), afterSequence: 1n }))).toMatchObject({ code: Code.InvalidArgument, message: "start from a time (since) or after a sequence (after_sequence), not both" });
    expect(await failure(collectFirst(events, { afterSequence: 99n }))).toMatchObject({ code: Code.OutOfRange, message: expect.stringContaining("event 99 is past the last one (4): the daemon was restarted since") });
    expect(await failure(collectFirst(events, { types: ["container"] }))).toMatchObject({ code: Code.InvalidArgument, message: '"container" is no event type: the types are session, exec, pty, workspace' });
  });

  it("a daemon started after kill -9 reports the work it found lost: a watch from a time sees each end", async () => {
    const d = await daemon();
    await d.client(WorkspaceService).createWorkspace({ displayName: "w" });
    const exec = await runExecDetached(d.client(ExecService), ["sleep", "60"]);
    const pty = (await d.client(PtyService).createPty({ spec: { workspace: "w", argv: ["sleep", "60"] } })).pty!;
    const taskFile = writeTaskFile("tasks:\n  long:\n    cmd: sleep 60\n");
    const session = (await d.client(SessionService).startSession({ task: "long", taskFile, workspace: "w" })).session!;
    await eventually(async () => ((await d.client(SessionService).getSession({ name: session.name })).session!.activity === SessionActivity.RUNNING ? true : undefined));
    const before = Date.now();
    await d.kill();
    await d.restart();
    const lost = await firstAnswer(d.client(EventService), { since: timestampFromMs(before) });
    expect(lost.map(said)).toEqual(
      expect.arrayContaining([
        ["exec", "end", exec, expect.objectContaining({ status: "lost", reason: "the daemon was not running (it stopped or crashed) while this exec was live" })],
        ["pty", "close", pty.id, expect.objectContaining({ status: "lost" })],
        ["session", "run", session.id, expect.objectContaining({ task: "long", status: "lost" })],
        ["session", "end", session.id, expect.objectContaining({ status: "closed" })],
      ]),
    );
    expect(lost[0]!.sequence).toBe(1n);
  });

  it("curl follows the events over the Connect protocol's JSON", async () => {
    const d = await daemon();
    await d.client(WorkspaceService).createWorkspace({ displayName: "seen" });
    const body = JSON.stringify({ since: "2020-01-01T00:00:00Z", types: ["workspace"] });
    const envelope = Buffer.concat([Buffer.from([0, 0, 0, 0, body.length]), Buffer.from(body)]);
    // It follows until the client ends it: curl gives up after its --max-time with what it had.
    const r = spawnSync("curl", ["-s", "--max-time", "2", "--unix-socket", d.socketPath, "-H", "Content-Type: application/connect+json", "--data-binary", "@-", "http://localhost/tether.v1.EventService/WatchEvents"], { input: envelope });
    if (r.error !== undefined) throw new Error(`curl is needed for this test (.ci/run installs it): ${r.error.message}`);
    const first = JSON.parse(r.stdout.subarray(5, 5 + r.stdout.readUInt32BE(1)).toString()) as { events: { sequence: string; type: string; action: string; attributes: Record<string, string> }[] };
    expect(first.events).toMatchObject([{ sequence: "1", type: "workspace", action: "create", attributes: { name: "seen" } }]);
  });

  it("a watcher that does not read holds back neither the daemon nor another watcher: it misses the oldest of what came, and is told how many", async () => {
    const d = await daemon();
    const events = d.client(EventService);
    // Opened and not read past its first answer while a 1000-task graph runs twice (~6000 events), on a connection whose
    // HTTP/2 window holds little: the rest wait in the daemon, at most WATCHER_QUEUE_MAX (2000) of them.
    const narrow = createGrpcTransport({ baseUrl: "http://localhost", nodeOptions: { createConnection: () => connect(d.socketPath), settings: { initialWindowSize: 1024 } }, acceptCompression: [] });
    const stuckCall = new AbortController();
    const stuck = createClient(EventService, narrow).watchEvents({ types: ["session"] }, { signal: stuckCall.signal })[Symbol.asyncIterator]();
    await stuck.next();
    const reader = watch(events, { types: ["session"] });
    await reader.first;
    const tasks = Array.from({ length: 1000 }, (_, i) => `  t${i}:\n    cmd: "true"\n`).join("");
    const taskFile = writeTaskFile(`tasks:\n${tasks}  all:\n    cmd: "true"\n    upstream: [${Array.from({ length: 1000 }, (_, i) => `t${i}`).join(", ")}]\n`);
    const sessions = d.client(SessionService);
    for (let round = 0; round < 2; round++) {
      const session = (await sessions.startSession({ task: "all", taskFile, parallelism: 8 })).session!;
      expect((await waitQuiet(sessions, session.id)).exitCode).toBe(0);
    }
    await eventually(() => (reader.events.filter((e) => e.action === "end").length === 2 ? true : undefined));
    const published = reader.events.length;
    expect(reader.missed()).toBe(0n);
    const sequences = reader.events.map((e) => Number(e.sequence));
    expect(sequences).toEqual([...sequences].sort((a, b) => a - b));
    expect(new Set(sequences).size).toBe(published);
    expect(published).toBeGreaterThan(6000);
    // Read at last: what it still had, then on; what it missed is counted, none given twice or out of order.
    let got: Event[] = [];
    let missed = 0n;
    while (got.length + Number(missed) < published) {
      const { value } = await stuck.next();
      got = [...got, ...value!.events];
      missed += value!.missed;
    }
    // Past what its window and the daemon's 2000 held, dropped a tenth (200) at a time.
    expect(missed).toBeGreaterThan(0n);
    expect(missed % 200n).toBe(0n);
    expect(got.length).toBeGreaterThanOrEqual(2000);
    expect(got.length + Number(missed)).toBe(published);
    // What was on its way when the queue filled came first; the oldest of those that waited in the daemon went.
    const gotten = got.map((e) => Number(e.sequence));
    const gap = gotten.findIndex((seq, i) => seq !== sequences[i]);
    expect(gap).toBeGreaterThan(0);
    expect(gotten).toEqual([...sequences.slice(0, gap), ...sequences.slice(gap + Number(missed))]);
    stuckCall.abort();
    reader.stop();
  });
});

/** The events of a watch's first answer (the kept ones it asked for); the call ends then. */
async function firstAnswer(client: Client<typeof EventService>, request: Parameters<Client<typeof EventService>["watchEvents"]>[0]): Promise<Event[]> {
  for await (const answer of client.watchEvents(request)) return answer.events;
  throw new Error("the watch ended without an answer");
}

/** The first answer of a watch, or its error. */
async function collectFirst(client: Client<typeof EventService>, request: Parameters<Client<typeof EventService>["watchEvents"]>[0]): Promise<unknown> {
  for await (const answer of client.watchEvents(request)) return answer;
  return undefined;
}
