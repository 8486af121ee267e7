import type { MessageInitShape } from "@bufbuild/protobuf";
import { readdirSync, readFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { connect as http2Connect } from "node:http2";
import { connect } from "node:net";
import type { Client } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { grpcFrame } from "../../client/grpc-client.js";
import { DaemonService } from "../../gen/tether/v1/daemon_service_pb.js";
import { ExecStatus } from "../../gen/tether/v1/exec_pb.js";
import { ExecService, type ExecRequestSchema } from "../../gen/tether/v1/exec_service_pb.js";
import { AttachPtyRequestSchema, PtyService } from "../../gen/tether/v1/pty_service_pb.js";
import { SessionService } from "../../gen/tether/v1/session_service_pb.js";
import { WorkspaceService } from "../../gen/tether/v1/workspace_service_pb.js";
import { daemonPerTest, type TestDaemon } from "../helpers/daemon.js";
import { PtyClient } from "../helpers/ptys.js";
import { eventually, writeTaskFile } from "../helpers/sessions.js";
import { AttachRequests } from "../helpers/streams.js";

const daemon = daemonPerTest();

/** Rounds of clients coming and going; each round opens nine calls, over both protocols, and ends them in five ways. */
const ROUNDS = 30;
/** Descriptors the daemon may hold beyond the count before the rounds (a journal's segment file opened anew). */
const FD_ROOM = 3;

/** What a daemon holds that a leak would grow: descriptors, threads, child processes, and (its own count) calls whose handler runs and connections. */
interface Holdings {
  readonly fds: number;
  readonly threads: number;
  readonly children: number;
  readonly calls: number;
  readonly connections: number;
}

async function holdings(pid: number, daemonInfo: Client<typeof DaemonService>): Promise<Holdings> {
  const { daemon } = await daemonInfo.getDaemonInfo({});
  let children = 0;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // After the command's closing parenthesis: state, then the parent's pid.
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === pid) children++;
    } catch {
      // The process ended while the list was read.
    }
  }
  return { fds: readdirSync(`/proc/${pid}/fd`).length, threads: readdirSync(`/proc/${pid}/task`).length, children, calls: daemon!.callsInProgress, connections: daemon!.connections };
}

const attachTo = (pty: string) => ({ kind: { case: "open" as const, value: { target: { case: "pty" as const, value: pty }, size: { cols: 80, rows: 24 } } } });

/**
 * Long-lived work every round's clients come to: a PTY, a detached exec, a
 * session with an input stream. The exec and the session print a line and
 * then nothing: a follow of theirs gets that line, then waits, so a handler
 * that missed its client's going would wait for good, and be counted.
 */
async function longLivedWork(d: TestDaemon): Promise<{ pty: string; exec: string; session: string }> {
  await d.client(WorkspaceService).createWorkspace({ displayName: "w" });
  const opener = new PtyClient(d.client(PtyService), { kind: { case: "open", value: { target: { case: "create", value: { workspace: "w", argv: ["cat"] } }, size: { cols: 80, rows: 24 } } } });
  const pty = (await eventually(() => opener.pty)).id;
  opener.send({ kind: { case: "detach", value: true } });
  await opener.done;
  let exec = "";
  // Cancelling the call once it has started detaches: the command goes on.
  await untilThenCancel(
    (signal) => d.client(ExecService).exec(startOnly(["sh", "-c", "echo tick; exec sleep 600"]), { signal }),
    (response) => {
      if (response.kind.case === "started") exec = response.kind.value.exec!.id;
      return response.kind.case === "started";
    },
  );
  const file = writeTaskFile(`
tasks:
  hold:
    streams: { inbox: input }
    cmd: echo ready; exec sleep 600
`);
  const { session } = await d.client(SessionService).startSession({ task: "hold", taskFile: file });
  return { pty, exec, session: session!.name };
}

/** One round: clients that detach, cancel, drop their connection, or stop reading a follow, on each kind of call. */
async function round(d: TestDaemon, work: { pty: string; exec: string; session: string }, clients: Clients, n: number): Promise<void> {
  const { ptys, execs, sessions } = clients;
  // Types, sees the echo, detaches.
  const typist = new PtyClient(ptys, attachTo(work.pty));
  typist.type(`ping${n}\r`);
  await eventually(() => (typist.text.includes(`ping${n}\r\nping${n}\r\n`) ? true : undefined));
  typist.send({ kind: { case: "detach", value: true } });
  await typist.done;
  // Goes away without detaching: the call is cancelled.
  const canceller = new PtyClient(ptys, attachTo(work.pty));
  await eventually(() => canceller.pty);
  canceller.vanish();
  await canceller.done;
  // Its connection drops: no detach, no cancel, no goodbye.
  const connection = http2Connect("http://localhost", { createConnection: () => connect(d.socketPath) });
  const call = connection.request({ ":method": "POST", ":path": "/tether.v1.PtyService/AttachPty", "content-type": "application/grpc", te: "trailers" });
  call.on("error", () => undefined);
  call.write(grpcFrame(AttachPtyRequestSchema, attachTo(work.pty)));
  await new Promise((resolve) => call.once("data", resolve));
  connection.destroy();
  // Reattaches to the exec from its first byte, takes one chunk, and cancels.
  await untilThenCancel((signal) => execs.attachExec({ exec: work.exec, fromOffset: 0n }, { signal }), (response) => response.kind.case === "output");
  // Attaches to the session, sends a record, and cancels once it is acknowledged.
  const requests = new AttachRequests();
  requests.push({ kind: { case: "open", value: { session: work.session, streams: ["inbox"], withoutOutput: true } } });
  requests.push({ kind: { case: "input", value: { stream: "inbox", data: Buffer.from(`r${n}`), contentType: "text/plain", clientRef: 1n } } });
  await untilThenCancel((signal) => sessions.attachSession(requests, { signal }), (message) => message.kind.case === "accepted");
  // Follows the session's events and its output, and cancels.
  await untilThenCancel((signal) => sessions.watchSession({ name: work.session, follow: true }, { signal }), () => true);
  await untilThenCancel((signal) => sessions.readSessionLogs({ name: work.session, follow: true }, { signal }), () => true);
  // Follows the session's output over HTTP/1.1 with the Connect protocol, as curl does, and drops the connection.
  await connectFollowDropped(d.socketPath, work.session);
  // Runs a command to its end.
  for await (const response of execs.exec(startOnly(["true"]))) if (response.kind.case === "exit") break;
}

/** One client of each service for every round: each d.client() is a connection of its own, kept open for reuse. */
interface Clients {
  readonly daemonInfo: Client<typeof DaemonService>;
  readonly ptys: Client<typeof PtyService>;
  readonly execs: Client<typeof ExecService>;
  readonly sessions: Client<typeof SessionService>;
}

/**
 * Reads a call's responses until `enough` says so, then cancels it, as
 * connect-es documents (leaving a for-await loop of its client does not end
 * the call: the daemon would serve it on).
 */
async function untilThenCancel<T>(call: (signal: AbortSignal) => AsyncIterable<T>, enough: (response: T) => boolean): Promise<void> {
  const cancel = new AbortController();
  try {
    for await (const response of call(cancel.signal)) if (enough(response)) cancel.abort();
  } catch (error) {
    if (!cancel.signal.aborted) throw error;
  }
}

/** A Connect-protocol (HTTP/1.1, JSON) ReadSessionLogs follow whose client goes once the first response comes. */
async function connectFollowDropped(socketPath: string, session: string): Promise<void> {
  const body = Buffer.from(JSON.stringify({ name: session, follow: true }));
  const envelope = Buffer.alloc(5);
  envelope.writeUInt32BE(body.byteLength, 1);
  const request = httpRequest({ socketPath, method: "POST", path: "/tether.v1.SessionService/ReadSessionLogs", headers: { "content-type": "application/connect+json" } });
  request.on("error", () => undefined);
  const firstResponse = new Promise<void>((resolve) => request.once("response", (response) => response.once("data", () => resolve())));
  request.end(Buffer.concat([envelope, body]));
  await firstResponse;
  request.destroy();
}

/** An Exec call's requests: the start in workspace w, and nothing more. */
async function* startOnly(argv: string[]): AsyncGenerator<MessageInitShape<typeof ExecRequestSchema>> {
  yield { kind: { case: "start", value: { workspace: "w", argv } } };
}

describe("a daemon that runs for long", () => {
  it("holds no more calls, connections, descriptors, threads or processes after clients came and went than before, however they left", async () => {
    const d = await daemon();
    const pid = d.process.pid!;
    const work = await longLivedWork(d);
    const clients: Clients = { daemonInfo: d.client(DaemonService), ptys: d.client(PtyService), execs: d.client(ExecService), sessions: d.client(SessionService) };
    const now = (): Promise<Holdings> => settled(pid, clients.daemonInfo);
    // Warm: the store's files, the thread pool, each kind of call once.
    for (let n = 0; n < 3; n++) await round(d, work, clients, n);
    const before = await now();
    // The warm rounds left nothing running: only the asking call is in progress.
    expect(before.calls).toBe(1);
    // A call counts while its handler runs: a follow held open is one more, until its client cancels it.
    const held = new AbortController();
    const following = (async () => {
      for await (const _ of clients.sessions.watchSession({ name: work.session, follow: true }, { signal: held.signal })) {
        // Held open: the session runs on.
      }
    })().catch(() => undefined);
    await eventually(async () => ((await now()).calls === before.calls + 1 ? true : undefined));
    held.abort();
    await following;
    for (let n = 3; n < 3 + ROUNDS; n++) await round(d, work, clients, n);
    // A little room for a segment file the journals open anew; one descriptor kept per call would be hundreds.
    const after = await eventually(async () => {
      const h = await now();
      return h.fds <= before.fds + FD_ROOM && h.threads <= before.threads && h.children <= before.children && h.calls <= before.calls && h.connections <= before.connections ? h : undefined;
    }, 10_000).catch(() => now());
    // Again only the asking call, on the connections that were open before.
    expect(after.calls).toBe(before.calls);
    expect(after.connections).toBe(before.connections);
    expect(after.children).toBeLessThanOrEqual(before.children);
    expect(after.threads).toBeLessThanOrEqual(before.threads);
    expect(after.fds).toBeLessThanOrEqual(before.fds + FD_ROOM);
    // Everything still works: the PTY echoes with one client attached (every one before it left); the exec runs on.
    const last = new PtyClient(clients.ptys, attachTo(work.pty));
    last.type("still\r");
    await eventually(() => (last.text.includes("still\r\nstill\r\n") ? true : undefined));
    expect((await clients.ptys.getPty({ pty: work.pty })).pty!.attachedClients).toBe(1);
    last.vanish();
    expect((await clients.execs.getExec({ exec: work.exec })).exec!.status).toBe(ExecStatus.RUNNING);
    // However a client left, its call ended as a client's going, not as a fault of the daemon's.
    expect(d.log()).not.toContain("internal error");
  });
});

/** Holdings once the daemon has caught up with the clients that left (a moment for their ends to reach it). */
async function settled(pid: number, daemonInfo: Client<typeof DaemonService>): Promise<Holdings> {
  await new Promise((resolve) => setTimeout(resolve, 300));
  return holdings(pid, daemonInfo);
}
