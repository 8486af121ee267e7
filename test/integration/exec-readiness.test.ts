import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, type Client } from "@connectrpc/connect";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { ErrorReason } from "../../gen/tether/v1/errors_pb.js";
import { ExecStatus } from "../../gen/tether/v1/exec_pb.js";
import { ExecService, type ExecStartSchema } from "../../gen/tether/v1/exec_service_pb.js";
import { EventService } from "../../gen/tether/v1/event_service_pb.js";
import { WorkspaceService } from "../../gen/tether/v1/workspace_service_pb.js";
import { SandboxProfile } from "../../gen/tether/v1/workspace_pb.js";
import { daemonPerTest } from "../helpers/daemon.js";
import { failure } from "../helpers/errors.js";
import { ExecRequests, collect, emptyResult } from "../helpers/execs.js";
import { freePorts } from "../helpers/ports.js";
import { alive } from "../helpers/sessions.js";

const daemon = daemonPerTest();

type Start = Omit<MessageInitShape<typeof ExecStartSchema>, "$typeName">;

/** Starts an exec in workspace w and detaches once it has started: its id. */
async function startDetached(execs: Client<typeof ExecService>, start: Start): Promise<string> {
  const requests = new ExecRequests();
  requests.push({ kind: { case: "start", value: { workspace: "w", ...start } } });
  requests.end();
  const result = emptyResult();
  for await (const response of execs.exec(requests)) {
    collect(result, response);
    if (result.exec !== undefined) break;
  }
  return result.exec!.id;
}

/** A node HTTP server on `port` that starts listening after `delayMs` and answers 200 (503 at /down). */
const server = (port: number, delayMs: number): string[] => [
  process.execPath,
  "-e",
  `setTimeout(() => require("node:http").createServer((q, r) => { r.statusCode = q.url === "/down" ? 503 : 200; r.end(); }).listen(${port}, "127.0.0.1"), ${delayMs})`,
];

const ms = (n: number) => ({ seconds: BigInt(Math.floor(n / 1000)), nanos: (n % 1000) * 1e6 });

describe("exec readiness (docker's healthcheck, compose up --wait)", () => {
  it("an http, tcp or cmd check marks a running exec ready once it passes: WaitExec until_ready answers then, GetExec and the events say when; it runs on", async () => {
    const d = await daemon();
    await d.client(WorkspaceService).createWorkspace({ displayName: "w" });
    const execs = d.client(ExecService);
    const [http, tcp] = await freePorts(2);
    const watching = new AbortController();
    const actions: string[] = [];
    const watched = (async () => {
      for await (const r of d.client(EventService).watchEvents({ types: ["exec"] }, { signal: watching.signal })) for (const e of r.events) actions.push(`${e.action} ${e.id}`);
    })().catch(() => undefined);

    const web = await startDetached(execs, { argv: server(http!, 1500), displayName: "web", readiness: { http: `http://127.0.0.1:${http}/`, interval: ms(100) } });
    const db = await startDetached(execs, { argv: server(tcp!, 200), readiness: { tcp: `127.0.0.1:${tcp}`, interval: ms(100) } });
    const file = await startDetached(execs, { argv: ["sh", "-c", "sleep 0.3; touch ready; exec sleep 60"], readiness: { cmd: "test -f ready", interval: ms(100) } });
    const starting = (await execs.getExec({ exec: web })).exec!;
    expect([starting.readyTime, starting.readinessError, starting.readiness]).toEqual([undefined, "", expect.objectContaining({ http: `http://127.0.0.1:${http}/`, tcp: "", cmd: "" })]);
    for (const id of ["web", db, file]) {
      const { exec } = await execs.waitExec({ exec: id, untilReady: true });
      expect(exec!.status).toBe(ExecStatus.RUNNING);
      expect(timestampMs(exec!.readyTime!)).toBeGreaterThan(timestampMs(exec!.startTime!));
      expect(alive(exec!.pid)).toBe(true);
    }
    // The defaults: checked every second for up to a minute.
    expect((await execs.getExec({ exec: db })).exec!.readiness).toMatchObject({ interval: { seconds: 0n, nanos: 100_000_000 }, timeout: { seconds: 60n } });
    // Ready once: stopping the server later leaves it ready (readiness, not a health monitor).
    const ready = (await execs.getExec({ exec: web })).exec!.readyTime;
    await execs.stopExec({ exec: web });
    const { exec: ended } = await execs.getExec({ exec: web });
    expect([ended!.readyTime, ended!.status]).toEqual([ready, ExecStatus.SIGNALLED]);
    const gone = await failure(execs.waitExec({ exec: web, untilReady: true }));
    expect([gone.code, gone.reason, gone.message]).toEqual([Code.FailedPrecondition, ErrorReason.EXEC_NOT_READY, expect.stringContaining("was ready but has ended since")]);
    watching.abort();
    await watched;
    for (const id of [web, db, file]) expect(actions).toContain(`ready ${id}`);
  });

  it("checks that do not pass by the timeout mark it not ready saying why, and it runs on; one that ends first, or has no checks, is never ready; bad checks are refused", async () => {
    const d = await daemon();
    await d.client(WorkspaceService).createWorkspace({ displayName: "w" });
    const execs = d.client(ExecService);
    const [closed, down] = await freePorts(2);
    const refused = await startDetached(execs, { argv: ["sleep", "60"], readiness: { tcp: `127.0.0.1:${closed}`, interval: ms(100), timeout: ms(500) } });
    const failing = await startDetached(execs, { argv: server(down!, 0), readiness: { http: `http://127.0.0.1:${down}/down`, interval: ms(100), timeout: ms(500) } });
    for (const [id, why] of [
      [refused, `not ready after 500ms: tcp 127.0.0.1:${closed}: ECONNREFUSED`],
      [failing, `not ready after 500ms: http://127.0.0.1:${down}/down answered 503 Service Unavailable`],
    ] as const) {
      const notReady = await failure(execs.waitExec({ exec: id, untilReady: true }));
      expect([notReady.code, notReady.reason, notReady.message]).toEqual([Code.FailedPrecondition, ErrorReason.EXEC_NOT_READY, expect.stringContaining(`is ${why}; it runs on`)]);
      const { exec } = await execs.getExec({ exec: id });
      expect([exec!.status, exec!.readinessError, exec!.readyTime]).toEqual([ExecStatus.RUNNING, why, undefined]);
    }

    const quitter = await startDetached(execs, { argv: ["sh", "-c", "exit 3"], readiness: { cmd: "false" } });
    const early = await failure(execs.waitExec({ exec: quitter, untilReady: true }));
    expect([early.reason, early.message]).toEqual([ErrorReason.EXEC_NOT_READY, expect.stringContaining("ended before it was ready (exited, exit code 3)")]);
    const plain = await startDetached(execs, { argv: ["sleep", "60"] });
    const none = await failure(execs.waitExec({ exec: plain, untilReady: true }));
    expect([none.reason, none.message]).toEqual([ErrorReason.EXEC_NOT_READY, expect.stringContaining("has no readiness checks: start it with --ready-http")]);
    const slow = await startDetached(execs, { argv: ["sleep", "60"], readiness: { cmd: "false", interval: ms(100) } });
    const timedOut = await failure(execs.waitExec({ exec: slow, untilReady: true, timeout: ms(300) }));
    expect([timedOut.code, timedOut.reason]).toEqual([Code.DeadlineExceeded, ErrorReason.WAIT_TIMED_OUT]);

    for (const [readiness, message] of [
      [{}, "readiness needs at least one of http, tcp or cmd"],
      [{ http: "localhost:3000" }, 'readiness.http must be an http:// or https:// URL, got "localhost:3000"'],
      [{ tcp: "5432" }, 'readiness.tcp must be host:port, got "5432"'],
    ] as const) {
      const bad = await failure(startDetached(execs, { argv: ["true"], readiness }));
      expect([bad.code, bad.message]).toEqual([Code.InvalidArgument, expect.stringContaining(message)]);
    }
    // The daemon serves on.
    expect((await execs.getExec({ exec: plain })).exec!.status).toBe(ExecStatus.RUNNING);
  });

  it("in a bwrap workspace without network, an http check is made from inside its own network (where its server listens)", async () => {
    const d = await daemon();
    await d.client(WorkspaceService).createWorkspace({ displayName: "box", sandbox: SandboxProfile.BWRAP, noNetwork: true });
    const execs = d.client(ExecService);
    const [port] = await freePorts(1);
    const id = await startDetached(execs, { workspace: "box", argv: server(port!, 100), readiness: { http: `http://127.0.0.1:${port}/`, interval: ms(100), timeout: ms(20_000) } });
    const { exec } = await execs.waitExec({ exec: id, untilReady: true });
    expect([exec!.status, exec!.readinessError]).toEqual([ExecStatus.RUNNING, ""]);
    await execs.stopExec({ exec: id });
  });

  it("WaitExec until_ready on a queued exec waits for its start, then for its checks", async () => {
    const d = await daemon();
    await d.client(WorkspaceService).createWorkspace({ displayName: "w" });
    const execs = d.client(ExecService);
    const blocker = await startDetached(execs, { argv: ["sleep", "60"], queue: "one" });
    const queued = await startDetached(execs, { argv: ["sh", "-c", "touch up; exec sleep 60"], queue: "one", readiness: { cmd: "test -f up", interval: ms(100) } });
    expect((await execs.getExec({ exec: queued })).exec!.status).toBe(ExecStatus.QUEUED);
    const waiting = execs.waitExec({ exec: queued, untilReady: true });
    await new Promise((resolve) => setTimeout(resolve, 300));
    await execs.stopExec({ exec: blocker });
    const { exec } = await waiting;
    expect([exec!.id, exec!.status, exec!.readyTime !== undefined]).toEqual([queued, ExecStatus.RUNNING, true]);
    await execs.stopExec({ exec: queued });
  });

  it("exec restart checks afresh; what the checks found is kept across kill -9 of the daemon", async () => {
    const d = await daemon();
    await d.client(WorkspaceService).createWorkspace({ displayName: "w" });
    const execs = d.client(ExecService);
    const [port] = await freePorts(1);
    const first = await startDetached(execs, { argv: server(port!, 200), displayName: "api", readiness: { tcp: `127.0.0.1:${port}`, interval: ms(100) } });
    await execs.waitExec({ exec: first, untilReady: true });
    const { exec: next } = await execs.restartExec({ exec: "api" });
    expect([next!.id, next!.readyTime, next!.readiness?.tcp]).toEqual([expect.not.stringMatching(first), undefined, `127.0.0.1:${port}`]);
    const { exec: ready } = await execs.waitExec({ exec: "api", untilReady: true });
    expect(ready!.id).toBe(next!.id);
    const before = (await execs.getExec({ exec: first })).exec!.readyTime;
    expect(before).toBeDefined();
    // kill -9: what the checks found was stored as they found it.
    await d.kill();
    await d.restart();
    const after = d.client(ExecService);
    expect((await after.getExec({ exec: first })).exec).toMatchObject({ readyTime: before, readiness: { tcp: `127.0.0.1:${port}` } });
    const lost = (await after.getExec({ exec: next!.id })).exec!;
    expect([lost.status, lost.readyTime !== undefined]).toEqual([ExecStatus.LOST, true]);
  });

  it("once ready, its checks go on every health interval, as docker's healthcheck: 3 failing in a row make it unhealthy (it runs on, WaitExec until_ready refuses), one passing after makes it healthy; the events say each", async () => {
    const d = await daemon();
    await d.client(WorkspaceService).createWorkspace({ displayName: "w" });
    const execs = d.client(ExecService);
    const watching = new AbortController();
    const actions: string[] = [];
    const watched = (async () => {
      for await (const r of d.client(EventService).watchEvents({ types: ["exec"] }, { signal: watching.signal })) for (const e of r.events) actions.push(e.action);
    })().catch(() => undefined);
    // The command makes the file its check looks for, takes it away, and makes it again when told.
    const id = await startDetached(execs, {
      argv: ["sh", "-c", "touch up; while [ ! -f gone ]; do sleep 0.05; done; rm up; while [ ! -f back ]; do sleep 0.05; done; touch up; exec sleep 60"],
      readiness: { cmd: "test -f up", interval: ms(100), healthInterval: ms(150) },
    });
    const ready = (await execs.waitExec({ exec: id, untilReady: true })).exec!;
    expect(ready.readinessError).toBe("");
    expect(ready.readiness?.healthInterval).toMatchObject(ms(150));
    const run = (await execs.getExec({ exec: id })).exec!;
    const sh = (script: string) => startDetached(execs, { argv: ["sh", "-c", script], cwd: run.cwd });
    await sh("touch gone");
    const unhealthy = await until(async () => {
      const e = (await execs.getExec({ exec: id })).exec!;
      return e.readinessError !== "" ? e : undefined;
    });
    expect(unhealthy.status).toBe(ExecStatus.RUNNING);
    expect(unhealthy.readyTime).toEqual(ready.readyTime);
    expect(unhealthy.readinessError).toBe("unhealthy: cmd test -f up exited with code 1 (3 checks in a row, every 150ms)");
    const refused = await failure(execs.waitExec({ exec: id, untilReady: true }));
    expect([refused.code, refused.reason]).toEqual([Code.FailedPrecondition, ErrorReason.EXEC_NOT_READY]);
    expect(refused.message).toMatch(/is unhealthy: cmd test -f up exited with code 1 .*; it runs on/);
    await sh("touch back");
    await until(async () => ((await execs.getExec({ exec: id })).exec!.readinessError === "" ? true : undefined));
    await until(() => (actions.includes("healthy") ? true : undefined));
    expect(actions.filter((a) => ["ready", "unhealthy", "healthy"].includes(a))).toEqual(["ready", "unhealthy", "healthy"]);
    // health_interval 0: no checks once ready.
    const quiet = await startDetached(execs, { argv: ["sh", "-c", "touch q; sleep 0.3; rm q; exec sleep 60"], readiness: { cmd: "test -f q", interval: ms(50), healthInterval: ms(0) } });
    await execs.waitExec({ exec: quiet, untilReady: true });
    await new Promise((r) => setTimeout(r, 800));
    expect((await execs.getExec({ exec: quiet })).exec!.readinessError).toBe("");
    watching.abort();
    await watched;
    await execs.stopExec({ exec: id });
    await execs.stopExec({ exec: quiet });
  });
});

/** Polls `check` until it gives a value (at most 10 s). */
async function until<T>(check: () => Promise<T | undefined> | T | undefined): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const value = await check();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("not by 10 s");
}
