import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { connect as http2Connect, type IncomingHttpHeaders } from "node:http2";
import { connect } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, startDaemon, type TestDaemon } from "../helpers/daemon.js";

/**
 * Another stack talks to the daemon: @grpc/grpc-js with the .proto files
 * loaded at run time, none of our generated code.
 */
const PROTO_DIR = join(ROOT, "proto");
const load = (file: string): grpc.GrpcObject =>
  grpc.loadPackageDefinition(protoLoader.loadSync(join(PROTO_DIR, file), { includeDirs: [PROTO_DIR], longs: String, defaults: true, oneofs: true }));

type Ctor = new (address: string, credentials: grpc.ChannelCredentials, options?: grpc.ChannelOptions) => grpc.Client & Record<string, (...args: never[]) => unknown>;
const service = (pkg: grpc.GrpcObject, path: string): Ctor =>
  path.split(".").reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], pkg) as Ctor;

function unary<T>(client: grpc.Client, method: string, request: object): Promise<T> {
  return new Promise((resolve, reject) => {
    (client as unknown as Record<string, (r: object, cb: (e: grpc.ServiceError | null, v: T) => void) => void>)[method]!(request, (e, v) => (e ? reject(e) : resolve(v)));
  });
}

let d: TestDaemon;
let address: string;
beforeAll(async () => {
  d = await startDaemon();
  address = `unix://${d.socketPath}`;
});
afterAll(async () => d.kill());

describe("a gRPC client that is not ours (grpc-js + proto-loader)", () => {
  it("calls DaemonService.GetDaemonInfo", async () => {
    const Daemon = service(load("tether/v1/daemon_service.proto"), "tether.v1.DaemonService");
    const client = new Daemon(address, grpc.credentials.createInsecure());
    const res = await unary<{ daemon: { pid: number; socketPath: string } }>(client, "GetDaemonInfo", {});
    expect(res.daemon.pid).toBe(d.process.pid);
    client.close();
  });

  it("calls DaemonService.ShutdownDaemon, and the daemon exits cleanly", async () => {
    const own = await startDaemon();
    const Daemon = service(load("tether/v1/daemon_service.proto"), "tether.v1.DaemonService");
    const client = new Daemon(`unix://${own.socketPath}`, grpc.credentials.createInsecure());
    const exited = new Promise<number | null>((resolve) => own.process.once("exit", resolve));
    const res = await unary<{ daemon: { pid: number } }>(client, "ShutdownDaemon", {});
    expect(res.daemon.pid).toBe(own.process.pid);
    expect(await exited).toBe(0);
    client.close();
  });

  it("calls every JournalService RPC, server streaming included, and reads our error detail", async () => {
    const Journal = service(load("tether/v1/journal_service.proto"), "tether.v1.JournalService");
    const client = new Journal(address, grpc.credentials.createInsecure());
    await unary(client, "CreateJournal", { journalId: "interop", retention: { maxBytes: 0, maxAgeSeconds: 0 } });
    const appended = await unary<{ firstSequence: string; lastSequence: string }>(client, "AppendRecords", {
      name: "journals/interop",
      records: [{ data: Buffer.from("one"), metadata: { k: "v" } }, { data: Buffer.from("two") }],
    });
    expect([appended.firstSequence, appended.lastSequence]).toEqual(["1", "2"]);
    const got = await unary<{ journal: { nextSequence: string } }>(client, "GetJournal", { name: "journals/interop" });
    expect(got.journal.nextSequence).toBe("3");
    const listed = await unary<{ journals: { name: string }[] }>(client, "ListJournals", {});
    expect(listed.journals.map((j) => j.name)).toContain("journals/interop");

    const records: { sequence: string; data: Buffer; metadata: Record<string, string> }[] = [];
    const stream = (client as unknown as Record<string, (r: object) => grpc.ClientReadableStream<{ records: typeof records }>>)["ReadJournal"]!({ name: "journals/interop", sequence: 1 });
    for await (const msg of stream) records.push(...msg.records);
    expect(records.map((r) => [r.sequence, r.data.toString()])).toEqual([["1", "one"], ["2", "two"]]);
    expect(records[0]!.metadata).toEqual({ k: "v" });

    const missing = await unary(client, "GetJournal", { name: "journals/missing" }).catch((e: grpc.ServiceError) => e);
    expect((missing as grpc.ServiceError).code).toBe(grpc.status.NOT_FOUND);
    expect((missing as grpc.ServiceError).details).toContain("journals/missing".replace("journals/", "journal "));
    const statusDetails = (missing as grpc.ServiceError).metadata.get("grpc-status-details-bin");
    expect(statusDetails.length).toBe(1);
    expect(Buffer.from(statusDetails[0] as Buffer).toString("latin1")).toContain("tether.v1.ErrorDetail");
    client.close();
  });

  it("calls every WorkspaceService and ExecService RPC, the bidirectional Exec included", async () => {
    const Workspaces = service(load("tether/v1/workspace_service.proto"), "tether.v1.WorkspaceService");
    const Execs = service(load("tether/v1/exec_service.proto"), "tether.v1.ExecService");
    const ws = new Workspaces(address, grpc.credentials.createInsecure());
    const ex = new Execs(address, grpc.credentials.createInsecure());
    const created = await unary<{ workspace: { id: string } }>(ws, "CreateWorkspace", { displayName: "interop", labels: { a: "1" } });
    expect((await unary<{ workspace: { id: string } }>(ws, "GetWorkspace", { workspace: "interop" })).workspace.id).toBe(created.workspace.id);
    expect((await unary<{ workspaces: { displayName: string }[] }>(ws, "ListWorkspaces", {})).workspaces.map((w) => w.displayName)).toContain("interop");
    expect((await unary<{ workspace: { labels: Record<string, string> } }>(ws, "UpdateWorkspace", { workspace: "interop", setLabels: { b: "2" } })).workspace.labels).toEqual({ a: "1", b: "2" });

    const call = (ex as unknown as Record<string, () => grpc.ClientDuplexStream<object, { kind: string; started?: { exec: { id: string } }; output?: { data: Buffer }; exit?: { exitCode: number } }>>)["Exec"]!();
    call.write({ start: { workspace: "interop", argv: ["sh", "-c", "cat; exit 5"], stdin: true } });
    call.write({ stdin: Buffer.from("through grpc-js\n") });
    call.write({ closeStdin: true });
    call.end();
    let out = "";
    let id = "";
    let exitCode = -1;
    for await (const msg of call) {
      if (msg.kind === "started") id = msg.started!.exec.id;
      if (msg.kind === "output") out += msg.output!.data.toString();
      if (msg.kind === "exit") exitCode = msg.exit!.exitCode;
    }
    expect([out, exitCode]).toEqual(["through grpc-js\n", 5]);
    const attach = (ex as unknown as Record<string, (r: object) => grpc.ClientReadableStream<{ kind: string; output?: { data: Buffer } }>>)["AttachExec"]!({ exec: id });
    let again = "";
    for await (const msg of attach) if (msg.kind === "output") again += msg.output!.data.toString();
    expect(again).toBe(out);
    expect((await unary<{ exec: { id: string } }>(ex, "GetExec", { exec: id })).exec.id).toBe(id);
    expect((await unary<{ execs: { id: string }[] }>(ex, "ListExecs", { workspace: "interop" })).execs.map((e) => e.id)).toEqual([id]);
    const ended = await unary(ex, "SignalExec", { exec: id }).catch((e: grpc.ServiceError) => e);
    expect((ended as grpc.ServiceError).code).toBe(grpc.status.FAILED_PRECONDITION);
    const lateStdin = await unary(ex, "WriteExecStdin", { exec: id, text: "late" }).catch((e: grpc.ServiceError) => e);
    expect((lateStdin as grpc.ServiceError).details).toBe(`exec ${id} has ended (exited): it takes no input or signals; tether exec attach ${id} shows its output`);
    // Started again as it was (its stdin open, none writing): it runs until the workspace stops it.
    const restarted = await unary<{ exec: { id: string; pid: number }; previous: { id: string } }>(ex, "RestartExec", { exec: id, grace: { seconds: 1 } });
    expect([restarted.previous.id, restarted.exec.id === id, restarted.exec.pid > 0]).toEqual([id, false, true]);
    const stillRunning = await unary(ex, "WaitExec", { exec: restarted.exec.id, timeout: { nanos: 200_000_000 } }).catch((e: grpc.ServiceError) => e);
    expect([(stillRunning as grpc.ServiceError).code, (stillRunning as grpc.ServiceError).details]).toEqual([
      grpc.status.DEADLINE_EXCEEDED,
      `exec ${restarted.exec.id} had not ended within 200ms: tether exec kill ${restarted.exec.id} stops it; --timeout waits longer`,
    ]);
    // A wait for the exec restarted goes on to the one its restart started.
    const waited = unary<{ exec: { id: string; status: number; signal: string } }>(ex, "WaitExec", { exec: id });
    expect((await unary<{ stopped: number }>(ws, "StopWorkspace", { workspace: "interop" })).stopped).toBe(1);
    expect((await waited).exec).toMatchObject({ id: restarted.exec.id, status: 3, signal: "SIGTERM" });
    await unary(ex, "DeleteExec", { exec: restarted.exec.id });
    expect((await unary<{ outputBytes: string }>(ex, "DeleteExec", { exec: id })).outputBytes).toBe("16");
    expect((await unary<{ execs: unknown[] }>(ex, "ListExecs", { workspace: "interop" })).execs).toEqual([]);

    // Queues: one paused holds an exec QUEUED (its Exec call says so first); stopped, it never ran.
    expect((await unary<{ queue: object }>(ex, "UpdateExecQueue", { name: "interop", parallel: 2, paused: true })).queue).toMatchObject({ name: "interop", parallel: 2, paused: true });
    const queuedCall = (ex as unknown as Record<string, () => grpc.ClientDuplexStream<object, { kind: string; started?: { exec: { id: string; status: number } }; exit?: { status: number } }>>)["Exec"]!();
    queuedCall.write({ start: { workspace: "interop", argv: ["true"], queue: "interop" } });
    queuedCall.end();
    const seen: string[] = [];
    for await (const msg of queuedCall) {
      if (msg.kind === "started") {
        seen.push(`started ${msg.started!.exec.status}`);
        expect((await unary<{ queues: object[] }>(ex, "ListExecQueues", {})).queues).toEqual([expect.objectContaining({ name: "interop", queued: 1, running: 0 })]);
        expect((await unary<{ exec: { status: number } }>(ex, "StopExec", { exec: msg.started!.exec.id })).exec.status).toBe(7);
      }
      if (msg.kind === "exit") seen.push(`exit ${msg.exit!.status}`);
    }
    expect(seen).toEqual(["started 6", "exit 7"]); // QUEUED, then CANCELLED
    // StartExec: a queued one (its queue paused) now.
    const detachedCall = (ex as unknown as Record<string, () => grpc.ClientDuplexStream<object, { kind: string; started?: { exec: { id: string; status: number } } }>>)["Exec"]!();
    detachedCall.write({ start: { workspace: "interop", argv: ["true"], queue: "interop" } });
    detachedCall.end();
    let queuedId = "";
    for await (const msg of detachedCall) {
      if (msg.kind === "started") {
        queuedId = msg.started!.exec.id;
        detachedCall.cancel();
        break;
      }
    }
    const startedNow = await unary<{ exec: { id: string; status: number; pid: number } }>(ex, "StartExec", { exec: queuedId });
    expect(startedNow.exec).toMatchObject({ id: queuedId });
    expect(startedNow.exec.pid).toBeGreaterThan(0);
    expect((await unary<{ exec: { status: number } }>(ex, "WaitExec", { exec: queuedId })).exec.status).toBe(2); // EXITED
    expect((await unary<{ exec: { displayName: string } }>(ex, "RenameExec", { exec: queuedId, displayName: "renamed" })).exec.displayName).toBe("renamed");
    expect((await unary<{ queue: object }>(ex, "DeleteExecQueue", { name: "interop" })).queue).toMatchObject({ name: "interop", parallel: 1, paused: false });
    await unary(ws, "DeleteWorkspace", { workspace: "interop" });
    ws.close();
    ex.close();
  });

  it("calls every PtyService RPC, the bidirectional AttachPty included", async () => {
    const Workspaces = service(load("tether/v1/workspace_service.proto"), "tether.v1.WorkspaceService");
    const Ptys = service(load("tether/v1/pty_service.proto"), "tether.v1.PtyService");
    const ws = new Workspaces(address, grpc.credentials.createInsecure());
    const pt = new Ptys(address, grpc.credentials.createInsecure());
    await unary(ws, "CreateWorkspace", { displayName: "interop-pty" });
    const call = (pt as unknown as Record<string, () => grpc.ClientDuplexStream<object, { kind: string; opened?: { pty: { id: string } }; output?: { data: Buffer }; exit?: { exitCode: number } }>>)["AttachPty"]!();
    call.write({ open: { create: { workspace: "interop-pty", argv: ["sh"] }, size: { cols: 90, rows: 20 } } });
    let out = "";
    let id = "";
    let exitCode = -1;
    for await (const msg of call) {
      if (msg.kind === "opened") {
        id = msg.opened!.pty.id;
        expect((await unary<{ ptys: { id: string }[] }>(pt, "ListPtys", { openOnly: true })).ptys.map((p) => p.id)).toContain(id);
        expect((await unary<{ pty: { size: { cols: number } } }>(pt, "ResizePty", { pty: id, size: { cols: 100, rows: 30 } })).pty.size.cols).toBe(100);
        await unary(pt, "SignalPty", { pty: id, signal: "WINCH" });
        // A script types the first part of the line (WritePty), the attached client ends it.
        expect((await unary<{ pty: { id: string } }>(pt, "WritePty", { pty: id, text: "echo typed-by-script; " })).pty.id).toBe(id);
        call.write({ input: Buffer.from("stty size; exit 6\r") });
      }
      if (msg.kind === "output") out += msg.output!.data.toString();
      if (msg.kind === "exit") exitCode = msg.exit!.exitCode;
    }
    call.end();
    // Typing makes the attached client the latest active one: its 90x20 applies again over the script's resize.
    // The echo's output, then stty's: typed before the shell's first prompt, the line may follow that prompt ("# ").
    expect(out).toMatch(/typed-by-script\r\n20 90\r\n/);
    expect(exitCode).toBe(6);
    expect((await unary<{ pty: { state: number } }>(pt, "GetPty", { pty: id })).pty.state).toBe(2); // PTY_STATE_CLOSED
    const read = (pt as unknown as Record<string, (r: object) => grpc.ClientReadableStream<{ kind: string; output?: { data: Buffer }; exit?: { exitCode: number } }>>)["ReadPty"]!({ pty: id, fromOffset: 0 });
    let again = "";
    let readExit = -1;
    for await (const msg of read) {
      if (msg.kind === "output") again += msg.output!.data.toString();
      if (msg.kind === "exit") readExit = msg.exit!.exitCode;
    }
    expect([again, readExit]).toEqual([out, 6]);
    const other = await unary<{ pty: { id: string } }>(pt, "CreatePty", { spec: { workspace: "interop-pty", argv: ["sleep", "60"] } });
    expect((await unary<{ pty: { displayName: string } }>(pt, "RenamePty", { pty: other.pty.id, displayName: "napper" })).pty.displayName).toBe("napper");
    expect((await unary<{ detached: number }>(pt, "DetachPty", { pty: "napper" })).detached).toBe(0);
    const closed = await unary<{ pty: { exit: { signal: string } } }>(pt, "ClosePty", { pty: "napper" });
    expect(closed.pty.exit.signal).toBe("SIGHUP");
    await unary(pt, "DeletePty", { pty: other.pty.id });
    expect((await unary<{ ptys: { id: string }[] }>(pt, "ListPtys", {})).ptys.map((p) => p.id)).toEqual([id]);
    ws.close();
    pt.close();
  });

  it("calls EventService.WatchEvents: the kept events, then each as it happens", async () => {
    const Events = service(load("tether/v1/event_service.proto"), "tether.v1.EventService");
    const Workspaces = service(load("tether/v1/workspace_service.proto"), "tether.v1.WorkspaceService");
    const ev = new Events(address, grpc.credentials.createInsecure());
    const ws = new Workspaces(address, grpc.credentials.createInsecure());
    const made = await unary<{ workspace: { id: string } }>(ws, "CreateWorkspace", { displayName: "events-interop" });
    type Answer = { events: { sequence: string; type: string; action: string; id: string; attributes: Record<string, string> }[]; missed: string };
    const call = (ev as unknown as Record<string, (r: object) => grpc.ClientReadableStream<Answer>>)["WatchEvents"]!({ since: { seconds: Math.floor(Date.now() / 1000) - 60, nanos: 0 }, types: ["workspace"] });
    const answers: Answer[] = [];
    const second = new Promise<void>((resolve, reject) => {
      call.on("data", (answer: Answer) => {
        answers.push(answer);
        if (answers.length === 1) void unary(ws, "DeleteWorkspace", { workspace: made.workspace.id }).catch(reject);
        if (answers.length === 2) resolve();
      });
      call.on("error", (e: grpc.ServiceError) => (e.code === grpc.status.CANCELLED ? undefined : reject(e)));
    });
    await second;
    call.cancel();
    const kept = answers[0]!.events.filter((e) => e.id === made.workspace.id);
    expect(kept.map((e) => [e.type, e.action, e.attributes["name"]])).toEqual([["workspace", "create", "events-interop"]]);
    expect(answers[1]!.events.map((e) => [e.action, e.id])).toEqual([["remove", made.workspace.id]]);
    expect(Number(answers[1]!.events[0]!.sequence)).toBeGreaterThan(Number(kept[0]!.sequence));
    ev.close();
    ws.close();
  });

  it("gets Unimplemented for a method the daemon does not have", async () => {
    const client = new grpc.Client(address, grpc.credentials.createInsecure());
    const err = await new Promise<grpc.ServiceError>((resolve) =>
      client.makeUnaryRequest("/tether.v1.DaemonService/NoSuchMethod", (x: Buffer) => x, (x: Buffer) => x, Buffer.alloc(0), (e) => resolve(e as grpc.ServiceError)),
    );
    expect(err.code).toBe(grpc.status.UNIMPLEMENTED);
    client.close();
  });

  it("ends a call whose deadline passes with DEADLINE_EXCEEDED, and keeps serving", async () => {
    const Journal = service(load("tether/v1/journal_service.proto"), "tether.v1.JournalService");
    const client = new Journal(address, grpc.credentials.createInsecure());
    await unary(client, "CreateJournal", { journalId: "deadline" });
    const read = client as unknown as Record<string, (r: object, options: grpc.CallOptions) => grpc.ClientReadableStream<unknown>>;
    // A follow that would wait for records forever, but for its deadline.
    const stream = read["ReadJournal"]!({ name: "journals/deadline", follow: true }, { deadline: Date.now() + 300 });
    const error = await new Promise<grpc.ServiceError>((resolve) => {
      stream.on("data", () => {});
      stream.on("error", resolve);
    });
    expect(error.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect((await unary<{ journal: { nextSequence: string } }>(client, "GetJournal", { name: "journals/deadline" })).journal.nextSequence).toBe("1");
    client.close();
  });

  for (const algorithm of ["gzip", "deflate"] as const) {
    it(`takes requests a client compresses with ${algorithm}`, async () => {
      const Journal = service(load("tether/v1/journal_service.proto"), "tether.v1.JournalService");
      const client = new Journal(address, grpc.credentials.createInsecure(), {
        "grpc.default_compression_algorithm": algorithm === "gzip" ? 2 : 1,
        "grpc.default_compression_level": 2,
      } as grpc.ChannelOptions);
      const journalId = `compressed-${algorithm}`;
      await unary(client, "CreateJournal", { journalId });
      const data = Buffer.from("compressible ".repeat(10_000));
      await unary(client, "AppendRecords", { name: `journals/${journalId}`, records: [{ data }] });
      const records: { data: Buffer }[] = [];
      const read = client as unknown as Record<string, (r: object) => grpc.ClientReadableStream<{ records: typeof records }>>;
      for await (const msg of read["ReadJournal"]!({ name: `journals/${journalId}` })) records.push(...msg.records);
      expect(records.map((r) => Buffer.from(r.data).equals(data))).toEqual([true]);
      client.close();
    });
  }

  it("answers malformed requests with a status, not a reset: a compressed message on a call naming no compression, bytes that are no message, a bad deadline", async () => {
    const call = (body: Buffer, headers: Record<string, string> = {}): Promise<IncomingHttpHeaders> =>
      new Promise((resolve, reject) => {
        const session = http2Connect("http://localhost", { createConnection: () => connect(d.socketPath) });
        const stream = session.request({ ":method": "POST", ":path": "/tether.v1.DaemonService/GetDaemonInfo", "content-type": "application/grpc", te: "trailers", ...headers });
        let status: IncomingHttpHeaders = {};
        stream.on("response", (headers) => (status = headers));
        stream.on("trailers", (trailers) => (status = trailers));
        stream.on("data", () => {});
        stream.on("end", () => {
          session.close();
          resolve(status);
        });
        stream.on("error", reject);
        stream.end(body);
      });
    const compressed = await call(Buffer.from([1, 0, 0, 0, 3, 1, 2, 3]));
    expect(compressed["grpc-status"]).toBe(String(grpc.status.INVALID_ARGUMENT));
    expect(decodeURIComponent(String(compressed["grpc-message"]))).toContain("names no grpc-encoding");
    const garbage = await call(Buffer.from([0, 0, 0, 0, 3, 0xff, 0xff, 0xff]));
    expect(garbage["grpc-status"]).toBe(String(grpc.status.INVALID_ARGUMENT));
    expect(decodeURIComponent(String(garbage["grpc-message"]))).toContain("not a valid tether.v1.GetDaemonInfoRequest");
    const cut = await call(Buffer.from([0, 0, 0, 0, 9, 1]));
    expect(cut["grpc-status"]).toBe(String(grpc.status.INVALID_ARGUMENT));
    expect(decodeURIComponent(String(cut["grpc-message"]))).toContain("ended in the middle of a message");
    const empty = Buffer.from([0, 0, 0, 0, 0]);
    const badDeadline = await call(empty, { "grpc-timeout": "soon" });
    expect(badDeadline["grpc-status"]).toBe(String(grpc.status.INVALID_ARGUMENT));
    expect(decodeURIComponent(String(badDeadline["grpc-message"]))).toContain("invalid grpc timeout");
    // A deadline too far off for a timer is served as none.
    expect((await call(empty, { "grpc-timeout": "99999999H" }))["grpc-status"]).toBe("0");
  });

  for (const version of ["v1", "v1alpha"]) {
    it(`lists services and serves descriptors through server reflection (${version}, a bidirectional stream)`, async () => {
      const Reflection = service(load(`grpc/reflection/${version}/reflection.proto`), `grpc.reflection.${version}.ServerReflection`);
      const client = new Reflection(address, grpc.credentials.createInsecure());
      const call = (client as unknown as Record<string, () => grpc.ClientDuplexStream<object, Record<string, unknown>>>)["ServerReflectionInfo"]!();
      const answers: Record<string, unknown>[] = [];
      const done = new Promise<void>((resolve, reject) => {
        call.on("data", (m: Record<string, unknown>) => answers.push(m));
        call.on("end", resolve);
        call.on("error", reject);
      });
      call.write({ listServices: "*" });
      call.write({ fileContainingSymbol: "tether.v1.JournalService" });
      call.write({ fileContainingSymbol: "tether.v1.Nope" });
      call.end();
      await done;
      const listed = (answers[0]!["listServicesResponse"] as { service: { name: string }[] }).service.map((s) => s.name);
      expect(listed).toEqual(expect.arrayContaining(["tether.v1.DaemonService", "tether.v1.JournalService"]));
      const files = (answers[1]!["fileDescriptorResponse"] as { fileDescriptorProto: Buffer[] }).fileDescriptorProto;
      const names = files.map((f) => Buffer.from(f).toString("latin1"));
      expect(names.some((n) => n.includes("tether/v1/journal_service.proto"))).toBe(true);
      expect(names.some((n) => n.includes("tether/v1/journal.proto"))).toBe(true);
      expect((answers[2]!["errorResponse"] as { errorCode: number }).errorCode).toBe(grpc.status.NOT_FOUND);
      client.close();
    });
  }
});
