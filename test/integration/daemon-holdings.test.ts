import type { MessageInitShape } from "@bufbuild/protobuf";
import { readdirSync, readFileSync } from "node:fs";
import { connect as http2Connect } from "node:http2";
import { connect } from "node:net";
import type { Client } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { grpcFrame } from "../../client/grpc-client.js";
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

/** Rounds of clients coming and going; each round opens eight calls and ends them in five ways. */
const ROUNDS = 30;
/** Descriptors the daemon may hold beyond the count before the rounds (a journal's segment file opened anew). */
const FD_ROOM = 3;

/** What a daemon holds that a leak would grow: descriptors, threads, child processes. */
interface Holdings {
  readonly fds: number;
  readonly threads: number;
  readonly children: number;
}

function holdings(pid: number): Holdings {
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
  return { fds: readdirSync(`/proc/${pid}/fd`).length, threads: readdirSync(`/proc/${pid}/task`).length, children };
}

const attachTo = (pty: string) => ({ kind: { case: "open" as const, value: { target: { case: "pty" as const, value: pty }, size: { cols: 80, rows: 24 } } } });

/** Long-lived work every round's clients come to: a PTY, a detached exec that writes on, a session with an input stream. */
async function longLivedWork(d: TestDaemon): Promise<{ pty: string; exec: string; session: string }> {
  await d.client(WorkspaceService).createWorkspace({ displayName: "w" });
  const opener = new PtyClient(d.client(PtyService), { kind: { case: "open", value: { target: { case: "create", value: { workspace: "w", argv: ["cat"] } }, size: { cols: 80, rows: 24 } } } });
  const pty = (await eventually(() => opener.pty)).id;
  opener.send({ kind: { case: "detach", value: true } });
  await opener.done;
  let exec = "";
  // Closing the call once it has started detaches: the command goes on.
  for await (const response of d.client(ExecService).exec(startOnly(["sh", "-c", "while :; do echo tick; sleep 0.05; done"]))) {
    if (response.kind.case === "started") {
      exec = response.kind.value.exec!.id;
      break;
    }
  }
  const file = writeTaskFile(`
tasks:
  hold:
    streams: { inbox: input }
    cmd: while :; do echo tick; sleep 0.1; done
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
  // Reattaches to the exec from its first byte, takes one chunk, stops reading.
  for await (const response of execs.attachExec({ exec: work.exec, fromOffset: 0n })) if (response.kind.case === "output") break;
  // Attaches to the session, sends a record, leaves once it is acknowledged.
  const requests = new AttachRequests();
  requests.push({ kind: { case: "open", value: { session: work.session, streams: ["inbox"], withoutOutput: true } } });
  requests.push({ kind: { case: "input", value: { stream: "inbox", data: Buffer.from(`r${n}`), contentType: "text/plain", clientRef: 1n } } });
  for await (const message of sessions.attachSession(requests)) if (message.kind.case === "accepted") break;
  // Follows the session's events and its output, and stops.
  for await (const _ of sessions.watchSession({ name: work.session, follow: true })) break;
  for await (const _ of sessions.readSessionLogs({ name: work.session, follow: true })) break;
  // Runs a command to its end.
  for await (const response of execs.exec(startOnly(["true"]))) if (response.kind.case === "exit") break;
}

/** One client of each service for every round: each d.client() is a connection of its own, kept open for reuse. */
interface Clients {
  readonly ptys: Client<typeof PtyService>;
  readonly execs: Client<typeof ExecService>;
  readonly sessions: Client<typeof SessionService>;
}

/** An Exec call's requests: the start in workspace w, and nothing more. */
async function* startOnly(argv: string[]): AsyncGenerator<MessageInitShape<typeof ExecRequestSchema>> {
  yield { kind: { case: "start", value: { workspace: "w", argv } } };
}

describe("a daemon that runs for long", () => {
  it("holds no more descriptors, threads or processes after clients came and went than before, however they left", async () => {
    const d = await daemon();
    const pid = d.process.pid!;
    const work = await longLivedWork(d);
    const clients: Clients = { ptys: d.client(PtyService), execs: d.client(ExecService), sessions: d.client(SessionService) };
    // Warm: the store's files, the thread pool, each kind of call once.
    for (let n = 0; n < 3; n++) await round(d, work, clients, n);
    const before = await settled(pid);
    for (let n = 3; n < 3 + ROUNDS; n++) await round(d, work, clients, n);
    // A little room for a segment file the journals open anew; one descriptor kept per call would be hundreds.
    const after = await eventually(async () => {
      const now = await settled(pid);
      return now.fds <= before.fds + FD_ROOM && now.threads <= before.threads && now.children <= before.children ? now : undefined;
    }, 10_000).catch(() => holdings(pid));
    expect(after.children).toBeLessThanOrEqual(before.children);
    expect(after.threads).toBeLessThanOrEqual(before.threads);
    expect(after.fds).toBeLessThanOrEqual(before.fds + FD_ROOM);
    // Everything still works: the PTY echoes with one client attached (every one before it left), the exec writes on.
    const last = new PtyClient(clients.ptys, attachTo(work.pty));
    last.type("still\r");
    await eventually(() => (last.text.includes("still\r\nstill\r\n") ? true : undefined));
    expect((await clients.ptys.getPty({ pty: work.pty })).pty!.attachedClients).toBe(1);
    last.vanish();
    const exec = (await clients.execs.getExec({ exec: work.exec })).exec!;
    expect(exec.status).toBe(ExecStatus.RUNNING);
    let ticks = "";
    for await (const response of clients.execs.attachExec({ exec: work.exec, fromOffset: exec.stdoutBytes + exec.stderrBytes })) {
      if (response.kind.case === "output") ticks += Buffer.from(response.kind.value.data).toString();
      if (ticks.includes("tick\n")) break;
    }
  });
});

/** Holdings once the daemon has caught up with the clients that left (a moment for their ends to reach it). */
async function settled(pid: number): Promise<Holdings> {
  await new Promise((resolve) => setTimeout(resolve, 300));
  return holdings(pid);
}
