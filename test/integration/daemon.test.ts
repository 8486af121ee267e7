import { create, toBinary, type DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { spawnSync } from "node:child_process";
import { chmodSync, chownSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, statSync, writeFileSync, writeSync } from "node:fs";
import { request } from "node:http";
import { constants, connect as h2connect, type ClientSessionOptions, type IncomingHttpHeaders } from "node:http2";
import { connect, createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { gzipSync } from "node:zlib";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { DaemonService } from "../../gen/tether/v1/daemon_service_pb.js";
import { ErrorDetailSchema, ErrorReason } from "../../gen/tether/v1/errors_pb.js";
import { JournalService, ReadJournalRequestSchema } from "../../gen/tether/v1/journal_service_pb.js";
import { SessionService } from "../../gen/tether/v1/session_service_pb.js";
import { grpcFrame } from "../../client/grpc-client.js";
import { LOG_KIND_LINES } from "../../daemon/log.js";
import { createTransport } from "../helpers/connect-transport.js";
import { CLI_ENTRY, DAEMON_ENTRY, startDaemon, tempDirs, type TestDaemon } from "../helpers/daemon.js";
import { failure } from "../helpers/errors.js";
import { eventually, waitQuiet, writeTaskFile } from "../helpers/sessions.js";

const running: TestDaemon[] = [];
afterEach(async () => {
  for (const d of running.splice(0)) await d.kill();
});
async function daemon(dirs = tempDirs(), extraEnv: NodeJS.ProcessEnv = {}): Promise<TestDaemon> {
  const d = await startDaemon(dirs, extraEnv);
  running.push(d);
  return d;
}

/** Runs the daemon entry to completion and returns what it printed: for daemons that must refuse to start. */
function refusedStart(env: Record<string, string>): { status: number | null; output: string } {
  const r = spawnSync(process.execPath, [DAEMON_ENTRY], { env: { ...process.env, ...env }, encoding: "utf8", timeout: 20_000 });
  return { status: r.status, output: r.stdout + r.stderr };
}

function http1(socketPath: string, path: string, body: Buffer | string, contentType: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; bytes: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method: "POST", headers: { "content-type": contentType, ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), bytes: Buffer.concat(chunks) }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** A Connect streaming body: each message after a flags byte and a 4-byte big-endian length. */
function envelope(message: Buffer): Buffer {
  const head = Buffer.from([0, 0, 0, 0, 0]);
  head.writeUInt32BE(message.length, 1);
  return Buffer.concat([head, message]);
}

/** The enveloped JSON messages of a Connect streaming response (flags 2: the end-of-stream message). */
function jsonFrames(res: Buffer): { flags: number; body: unknown }[] {
  const frames: { flags: number; body: unknown }[] = [];
  for (let at = 0; at < res.length; ) {
    const length = res.readUInt32BE(at + 1);
    frames.push({ flags: res[at] as number, body: JSON.parse(res.subarray(at + 5, at + 5 + length).toString()) });
    at += 5 + length;
  }
  return frames;
}

/** A Connect streaming read (binary) of journal `name`, following, on a connection of its own that never reads. */
function unreadFollow(d: TestDaemon, name: string): Socket {
  const body = envelope(Buffer.from(toBinary(ReadJournalRequestSchema, create(ReadJournalRequestSchema, { name, follow: true }))));
  const socket = connect(d.socketPath);
  socket.on("error", () => undefined);
  socket.write(`POST /tether.v1.JournalService/ReadJournal HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/connect+proto\r\nContent-Length: ${body.length}\r\n\r\n`);
  socket.write(body);
  socket.pause();
  return socket;
}

/** The first `count` of `promises` to settle, in the order they did. */
function firstOf<T>(promises: readonly Promise<T>[], count: number): Promise<T[]> {
  return new Promise((resolve) => {
    const settled: T[] = [];
    for (const promise of promises) {
      void promise.then((value) => {
        settled.push(value);
        if (settled.length === count) resolve(settled.slice());
      });
    }
  });
}

function reasonOf(error: unknown): ErrorReason | undefined {
  return ConnectError.from(error).findDetails(ErrorDetailSchema)[0]?.reason;
}

describe("the daemon on its socket", () => {
  it("describes itself over gRPC; the socket and the database are private", async () => {
    const d = await daemon();
    const { daemon: info } = await d.client(DaemonService).getDaemonInfo({});
    expect(info?.pid).toBe(d.process.pid);
    expect(info?.socketPath).toBe(d.socketPath);
    expect(info?.stateDir).toBe(d.home);
    expect(info?.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(statSync(d.socketPath).mode & 0o777).toBe(0o600);
    // Its owner's alone, whoever can enter the state dir (TETHER_HOME may be an existing directory).
    for (const file of ["tether.db", "tether.db-wal"]) expect(statSync(join(d.home, file)).mode & 0o777, file).toBe(0o600);
  });

  it("answers the Connect protocol's JSON over HTTP/1.1, errors included", async () => {
    const d = await daemon();
    const ok = await http1(d.socketPath, "/tether.v1.DaemonService/GetDaemonInfo", "{}", "application/json");
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body).daemon.pid).toBe(d.process.pid);

    const missing = await http1(d.socketPath, "/tether.v1.JournalService/GetJournal", '{"name":"journals/nope"}', "application/json");
    expect(missing.status).toBe(404);
    const err = JSON.parse(missing.body);
    expect(err.code).toBe("not_found");
    expect(err.message).toContain("journal nope does not exist");
    expect(err.details[0].type).toBe("tether.v1.ErrorDetail");
    expect(err.details[0].debug.reason).toBe("ERROR_REASON_JOURNAL_NOT_FOUND");

    // A compressed body is refused saying what to send, and the daemon serves on.
    const compressed = await http1(d.socketPath, "/tether.v1.DaemonService/GetDaemonInfo", gzipSync("{}"), "application/json", { "content-encoding": "gzip" });
    expect([compressed.status, JSON.parse(compressed.body)]).toEqual([
      501,
      { code: "unimplemented", message: "tether.v1.DaemonService/GetDaemonInfo: the daemon takes no compressed requests (gzip): send the body as it is, without Content-Encoding (a local socket gains nothing from compression)" },
    ]);
    expect((await http1(d.socketPath, "/tether.v1.DaemonService/GetDaemonInfo", "{}", "application/json", { "content-encoding": "identity" })).status).toBe(200);
  });

  it("streams over HTTP/1.1 with the Connect protocol: enveloped JSON records, then the end-of-stream message", async () => {
    const d = await daemon();
    await d.client(JournalService).appendRecords({ name: "journals/h1", records: [{ data: new TextEncoder().encode("one") }, { data: new TextEncoder().encode("two") }] });
    const res = await http1(d.socketPath, "/tether.v1.JournalService/ReadJournal", envelope(Buffer.from(JSON.stringify({ name: "journals/h1" }))), "application/connect+json");
    const frames = jsonFrames(res.bytes);
    const records = frames.filter((f) => f.flags === 0).flatMap((f) => (f.body as { records: { sequence: string; data: string }[] }).records);
    expect(records.map((r) => [r.sequence, Buffer.from(r.data, "base64").toString()])).toEqual([["1", "one"], ["2", "two"]]);
    expect(frames.at(-1)?.flags).toBe(2);
    expect(frames.at(-1)?.body).toEqual({});
  });

  it("lives through a rejection nothing handles (a bug), logging it with its stack, and keeps serving", async () => {
    // A module the daemon's node loads first, which rejects a promise nobody handles once the daemon serves.
    const dir = mkdtempSync(join(tmpdir(), "tether-reject-"));
    const module = join(dir, "reject-later.mjs");
    writeFileSync(module, 'setTimeout(() => { Promise.reject(new Error("nobody handles this")); }, 300);\n');
    const d = await daemon(tempDirs(), { NODE_OPTIONS: `--import ${module}` });
    await eventually(() => (d.log().includes("nobody handles this") ? true : undefined));
    expect(d.log()).toContain("a promise was rejected and nothing handled it (a bug in tether: report it with this line): Error: nobody handles this\n    at ");
    expect((await d.client(DaemonService).getDaemonInfo({})).daemon!.pid).toBe(d.process.pid);
  });

  it("keeps a Connect-Timeout-Ms longer than a timer holds as none, as a gRPC deadline that far off: the follow goes on", async () => {
    const d = await daemon();
    const journals = d.client(JournalService);
    await journals.appendRecords({ name: "journals/far", records: [{ data: new TextEncoder().encode("one") }] });
    const body = envelope(Buffer.from(JSON.stringify({ name: "journals/far", follow: true })));
    // Ten digits, as the protocol allows: ~115 days, past the ~24.8 a timer holds.
    const call = request({ socketPath: d.socketPath, method: "POST", path: "/tether.v1.JournalService/ReadJournal", headers: { "content-type": "application/connect+json", "connect-timeout-ms": "9999999999" } });
    let received = Buffer.alloc(0);
    call.on("response", (response) => response.on("data", (chunk: Buffer) => (received = Buffer.concat([received, chunk]))));
    call.end(body);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await journals.appendRecords({ name: "journals/far", records: [{ data: new TextEncoder().encode("two") }] });
    const frames = await eventually(() => {
      const parsed = jsonFrames(received);
      return parsed.filter((f) => f.flags === 0).flatMap((f) => (f.body as { records?: unknown[] }).records ?? []).length === 2 ? parsed : undefined;
    });
    expect(frames.filter((f) => f.flags === 2)).toEqual([]);
    call.destroy();
  });

  it("answers a Connect client over HTTP/2 with a Connect error saying to use HTTP/1.1, which it reads as such, and serves it over HTTP/1.1", async () => {
    const d = await daemon();
    const overHttp2 = createConnectTransport({ httpVersion: "2", baseUrl: "http://localhost", nodeOptions: { createConnection: () => connect(d.socketPath) } as ClientSessionOptions });
    const refused = await failure(createClient(DaemonService, overHttp2).getDaemonInfo({}));
    expect([refused.code, refused.message]).toEqual([
      Code.Unimplemented,
      'HTTP/2 requests here are gRPC (content-type application/grpc), not application/proto: for the Connect protocol or JSON use HTTP/1.1 (connect-es: httpVersion "1.1"; curl does by default), or call with a gRPC client',
    ]);
    const overHttp1 = createConnectTransport({ httpVersion: "1.1", baseUrl: "http://localhost", nodeOptions: { socketPath: d.socketPath } });
    expect((await createClient(DaemonService, overHttp1).getDaemonInfo({})).daemon?.pid).toBe(d.process.pid);
  });

  it("serves curl, as the README shows", async () => {
    const d = await daemon();
    const r = spawnSync("curl", ["-s", "--unix-socket", d.socketPath, "-H", "Content-Type: application/json", "-d", "{}", "http://localhost/tether.v1.DaemonService/GetDaemonInfo"], { encoding: "utf8" });
    if (r.error !== undefined) throw new Error(`curl is needed for this test (.ci/run installs it): ${r.error.message}`);
    expect(JSON.parse(r.stdout).daemon.socketPath).toBe(d.socketPath);
  });

  it("refuses malformed and unknown requests and keeps serving", async () => {
    const d = await daemon();
    // A body that does not decode is the caller's fault (connect-es alone calls it internal).
    const garbage = await http1(d.socketPath, "/tether.v1.JournalService/GetJournal", Buffer.from([0xff, 0xff, 0xff, 0x01]), "application/proto");
    expect(garbage.status).toBe(400);
    expect(JSON.parse(garbage.body)).toMatchObject({ code: "invalid_argument", message: expect.stringMatching(/^the request is not a valid tether.v1.GetJournalRequest: .+ \(encode it with the .proto files/) });
    const streamed = await http1(d.socketPath, "/tether.v1.JournalService/ReadJournal", envelope(Buffer.from([0xff, 0xff, 0xff])), "application/connect+proto");
    expect(jsonFrames(streamed.bytes)).toEqual([{ flags: 2, body: { error: expect.objectContaining({ code: "invalid_argument", message: expect.stringContaining("not a valid tether.v1.ReadJournalRequest") }) } }]);
    const badJson = await http1(d.socketPath, "/tether.v1.JournalService/GetJournal", "{not json", "application/json");
    expect(JSON.parse(badJson.body).code).toBe("invalid_argument");
    // A misspelled field is named, not left out in silence (connect-es alone ignores it).
    const misspelled = await http1(d.socketPath, "/tether.v1.JournalService/GetJournal", '{"nmae":"journals/x"}', "application/json");
    expect([misspelled.status, JSON.parse(misspelled.body).message]).toEqual([
      400,
      'tether.v1.GetJournalRequest has no field "nmae": did you mean name? The fields it has are name (or their names in the .proto files, in proto/tether/v1)',
    ]);
    const misspelledStream = await http1(d.socketPath, "/tether.v1.JournalService/ReadJournal", envelope(Buffer.from('{"name":"journals/x","folow":true}')), "application/connect+json");
    expect(jsonFrames(misspelledStream.bytes)).toEqual([
      { flags: 2, body: { error: expect.objectContaining({ code: "invalid_argument", message: expect.stringMatching(/^tether.v1.ReadJournalRequest has no field "folow": did you mean follow\? The fields it has are name, /) }) } },
    ]);
    // A Content-Type that does not fit the method, or a method that streams requests: what to send instead, not a bare status.
    const notStreamed = await http1(d.socketPath, "/tether.v1.JournalService/ReadJournal", '{"name":"journals/x"}', "application/json");
    expect(notStreamed.status).toBe(415);
    expect(JSON.parse(notStreamed.body).message).toBe("tether.v1.JournalService/ReadJournal streams its answers: send it with Content-Type application/connect+json (or application/connect+proto), the request after a 0 byte and its 4-byte big-endian length, not Content-Type application/json");
    const formEncoded = await http1(d.socketPath, "/tether.v1.DaemonService/GetDaemonInfo", "{}", "application/x-www-form-urlencoded");
    expect(JSON.parse(formEncoded.body)).toMatchObject({ code: "invalid_argument", message: expect.stringContaining("is a unary call: send it with Content-Type application/json") });
    const get = await new Promise<{ status: number; body: string }>((resolve, reject) =>
      request({ socketPath: d.socketPath, path: "/tether.v1.DaemonService/GetDaemonInfo" }, (res) => {
        let body = "";
        res.on("data", (c: Buffer) => (body += c.toString())).on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      })
        .on("error", reject)
        .end(),
    );
    expect(get.status).toBe(405);
    expect(JSON.parse(get.body).message).toBe("tether.v1.DaemonService/GetDaemonInfo is called with POST, not GET (curl: -d '{}' with -H 'Content-Type: application/json')");
    const bidi = await http1(d.socketPath, "/tether.v1.SessionService/AttachSession", "{}", "application/connect+json");
    expect(bidi.status).toBe(505);
    expect(JSON.parse(bidi.body)).toMatchObject({ code: "unimplemented", message: expect.stringContaining("streams requests: call it over gRPC (HTTP/2") });
    const unknown = await http1(d.socketPath, "/tether.v1.DaemonService/Nope", "{}", "application/json");
    expect(unknown.status).toBe(404);
    // Not an empty 404: a Connect error naming what is served.
    expect(JSON.parse(unknown.body)).toMatchObject({ code: "unimplemented", message: expect.stringContaining("no procedure POST /tether.v1.DaemonService/Nope: the daemon serves tether.v1.DaemonService") });
    const badName = await d.client(JournalService).getJournal({ name: "nope" }).catch((e: unknown) => ConnectError.from(e));
    expect(badName).toBeInstanceOf(ConnectError);
    expect((badName as ConnectError).code).toBe(Code.InvalidArgument);
    expect(reasonOf(badName)).toBe(ErrorReason.INVALID_NAME);
    expect((await d.client(DaemonService).getDaemonInfo({})).daemon?.pid).toBe(d.process.pid);
  });

  it("refuses oversized messages and records with the limit, and keeps serving", async () => {
    const d = await daemon();
    const big = createClient(JournalService, createGrpcTransport({
      baseUrl: "http://localhost",
      nodeOptions: { createConnection: () => connect(d.socketPath), maxSessionMemory: 100 },
      writeMaxBytes: 64 * 1024 * 1024,
    }));
    const tooBigMessage = await big.appendRecords({ name: "journals/big", records: [{ data: new Uint8Array(17 * 1024 * 1024) }] }).catch((e: unknown) => ConnectError.from(e));
    expect((tooBigMessage as ConnectError).code).toBe(Code.ResourceExhausted);
    expect((tooBigMessage as ConnectError).rawMessage).toMatch(/^a request message of \d+ bytes is over the 16777216-byte limit: send smaller messages/);
    // The Connect protocol's JSON says it alike (connect-es's own words name only readMaxBytes).
    const overHttp1 = await http1(d.socketPath, "/tether.v1.JournalService/AppendRecords", JSON.stringify({ name: "journals/big", records: [{ data: Buffer.alloc(13 * 1024 * 1024).toString("base64") }] }), "application/json");
    expect(overHttp1.status).toBe(429);
    expect(JSON.parse(overHttp1.body)).toMatchObject({ code: "resource_exhausted", message: expect.stringMatching(/^a request message of \d+ bytes is over the 16777216-byte limit: send smaller messages/) });
    const tooBigRecord = await big.appendRecords({ name: "journals/big", records: [{ data: new Uint8Array(5 * 1024 * 1024) }] }).catch((e: unknown) => ConnectError.from(e));
    expect((tooBigRecord as ConnectError).code).toBe(Code.InvalidArgument);
    expect(reasonOf(tooBigRecord)).toBe(ErrorReason.RECORD_TOO_LARGE);
    expect((tooBigRecord as ConnectError).rawMessage).toContain("split it into several records");
    const ok = await d.client(JournalService).appendRecords({ name: "journals/big", records: [{ data: new Uint8Array(10) }] });
    expect(ok.firstSequence).toBe(1n);
  });

  describe("what calls hold, over all of them (a limit on each side)", () => {
    const MiB = 1024 * 1024;
    const chunk = Buffer.alloc(MiB, 7);
    /** A gRPC message head declaring a message just under the 16 MiB limit, whose body never all comes. */
    const head = Buffer.from([0, 0x00, 0xff, 0xff, 0xf0]);
    /** A daemon whose journal "journals/big" holds one 4 MiB record. */
    const daemonWithBigRecord = async (): Promise<TestDaemon> => {
      const d = await daemon();
      await d.client(JournalService).appendRecords({ name: "journals/big", records: [{ data: new Uint8Array(4 * MiB) }] });
      return d;
    };
    const held = async (d: TestDaemon): Promise<{ held: number; responses: number; limit: number }> => {
      const { daemon: info } = await d.client(DaemonService).getDaemonInfo({});
      return { held: Number(info?.requestBytesHeld), responses: Number(info?.responseBytesHeld), limit: Number(info?.callMemoryLimitBytes) };
    };

    it("over gRPC: past the daemon's limit the call holding the most is refused, and other clients go on", async () => {
      const d = await daemon();
      const { limit } = await held(d);
      // Each call sends 14 MiB of a message and waits; 20 of them is 280 MiB, more than the limit (256 MiB).
      const calls = 20;
      // A client's own HTTP/2 memory cap (10 MB by default) would reset its streams as their answers come, with this much unsent.
      const session = h2connect("http://localhost", { createConnection: () => connect(d.socketPath), maxSessionMemory: 1024 });
      session.on("error", () => undefined);
      const statuses = Array.from({ length: calls }, () => {
        const stream = session.request({ ":method": "POST", ":path": "/tether.v1.JournalService/AppendRecords", "content-type": "application/grpc", te: "trailers" });
        stream.on("error", () => undefined);
        stream.write(head);
        for (let i = 0; i < 14; i++) stream.write(chunk);
        return new Promise<IncomingHttpHeaders>((resolve) => stream.on("response", resolve));
      });
      const refused = calls - Math.floor(limit / (14 * MiB));
      const answered = await firstOf(statuses, refused);
      for (const headers of answered) {
        expect(headers["grpc-status"]).toBe(String(Code.ResourceExhausted));
        expect(decodeURIComponent(String(headers["grpc-message"]))).toMatch(/^requests not yet taken by their handlers reached the daemon's limit of 256\.0 MiB over all calls, and this call held the most of them \(\d+\.\d MiB\): send large messages one at a time/);
      }
      // Every byte of the others has come, and what the daemon holds is within the limit.
      expect(await eventually(async () => ((await held(d)).held === (calls - refused) * 14 * MiB ? true : undefined))).toBe(true);
      expect((await d.client(JournalService).appendRecords({ name: "journals/small", records: [{ data: new Uint8Array(10) }] })).firstSequence).toBe(1n);
      session.destroy();
      expect(await eventually(async () => ((await held(d)).held === 0 ? true : undefined))).toBe(true);
    });

    it("over HTTP/1.1: a body held past the limit gets resource_exhausted", async () => {
      const d = await daemon();
      const calls = 19;
      const answers = Array.from({ length: calls }, () => {
        const req = request({ socketPath: d.socketPath, path: "/tether.v1.JournalService/AppendRecords", method: "POST", headers: { "content-type": "application/proto", "content-length": 16 * MiB } });
        req.on("error", () => undefined);
        for (let i = 0; i < 14; i++) req.write(chunk);
        return new Promise<{ status: number; body: string }>((resolve) =>
          req.on("response", (res) => {
            let body = "";
            res.on("data", (c: Buffer) => (body += c.toString())).on("end", () => resolve({ status: res.statusCode ?? 0, body }));
          }),
        );
      });
      const [first] = await firstOf(answers, 1);
      expect(first!.status).toBe(429);
      expect(JSON.parse(first!.body)).toMatchObject({ code: "resource_exhausted", message: expect.stringContaining("this call held the most of them"), details: [{ debug: { reason: "ERROR_REASON_REQUEST_MEMORY_FULL" } }] });
      expect(await eventually(async () => ((await held(d)).held === 18 * 14 * MiB ? true : undefined))).toBe(true);
    });

    it("responses clients never read: past the limit the call holding the most is reset, and other clients go on", async () => {
      const d = await daemonWithBigRecord();
      const { limit } = await held(d);
      // 100 reads of a 4 MiB record, none read on: 400 MiB of answers, 40 MiB on each of 10
      // connections (within Node's own 64 MB cap on one connection).
      const calls = 100;
      const sessions = Array.from({ length: 10 }, () => h2connect("http://localhost", { createConnection: () => connect(d.socketPath) }).on("error", () => undefined));
      const closes = Array.from({ length: calls }, (_, i) => {
        const stream = sessions[i % sessions.length]!.request({ ":method": "POST", ":path": "/tether.v1.JournalService/ReadJournal", "content-type": "application/grpc", te: "trailers" });
        stream.on("error", () => undefined);
        stream.end(grpcFrame(ReadJournalRequestSchema, { name: "journals/big", follow: true }));
        stream.pause();
        return new Promise<number>((resolve) => stream.on("close", () => resolve(stream.rstCode ?? -1)));
      });
      const fit = Math.floor(limit / (4 * MiB + 64));
      // A reset lets go of the answers a status could not have got past.
      expect(await firstOf(closes, calls - fit)).toEqual(Array.from({ length: calls - fit }, () => constants.NGHTTP2_ENHANCE_YOUR_CALM));
      const now = await held(d);
      expect(now.responses).toBeLessThanOrEqual(limit);
      expect(now.responses).toBeGreaterThan(limit - 4 * MiB - 64);
      expect((await d.client(JournalService).appendRecords({ name: "journals/small", records: [{ data: new Uint8Array(10) }] })).firstSequence).toBe(1n);
      for (const session of sessions) session.destroy();
      expect(await eventually(async () => ((await held(d)).responses === 0 ? true : undefined))).toBe(true);
    });

    it("over HTTP/1.1 too: past the limit the connection holding the most is closed", async () => {
      const d = await daemonWithBigRecord();
      const { limit } = await held(d);
      // 80 Connect streaming reads (binary) of the 4 MiB record on as many connections, none read on.
      const calls = 80;
      const sockets = Array.from({ length: calls }, () => unreadFollow(d, "journals/big"));
      const fit = Math.floor(limit / (4 * MiB));
      const resets = (): number => d.log().split("\n").filter((line) => /HTTP\/1\.1 call \/tether\.v1\.JournalService\/ReadJournal reset: responses not yet read by their clients reached the daemon's limit/.test(line)).length;
      expect(await eventually(() => (resets() >= calls - fit ? true : undefined))).toBe(true);
      expect((await held(d)).responses).toBeLessThanOrEqual(limit);
      expect((await d.client(JournalService).appendRecords({ name: "journals/small", records: [{ data: new Uint8Array(10) }] })).firstSequence).toBe(1n);
      for (const socket of sockets) socket.destroy();
      expect(await eventually(async () => ((await held(d)).responses === 0 ? true : undefined))).toBe(true);
      // A call ended because its client's connection closed is not the daemon's fault.
      expect(d.log()).not.toContain("internal error");
    });

    it("over HTTP/1.1, a client gone in the middle of a large answer ends its call", async () => {
      const d = await daemonWithBigRecord();
      const sockets = Array.from({ length: 3 }, () => unreadFollow(d, "journals/big"));
      expect(await eventually(async () => ((await held(d)).responses >= 3 * 4 * MiB ? true : undefined))).toBe(true);
      for (const socket of sockets) socket.destroy();
      // The calls in progress: only the one asking.
      expect(await eventually(async () => ((await d.client(DaemonService).getDaemonInfo({})).daemon?.callsInProgress === 1 ? true : undefined))).toBe(true);
      expect(d.log()).not.toContain("internal error");
    });
  });

  it("serves at most half its open-file limit of connections: past it, a clear error, and others go on", async () => {
    // Under a limit of 200 open files, the daemon takes 100 connections.
    const d = await startDaemon(tempDirs(), { TETHER_DAEMON_LAUNCHER: "prlimit --nofile=200:200" });
    running.push(d);
    const first = d.client(DaemonService);
    await first.getDaemonInfo({});
    const idle = await Promise.all(Array.from({ length: 99 }, () => new Promise<Socket>((resolve) => {
      const socket = connect(d.socketPath, () => resolve(socket));
      socket.on("error", () => undefined);
    })));
    expect(await eventually(async () => ((await first.getDaemonInfo({})).daemon?.connections === 100 ? true : undefined))).toBe(true);
    const refused = await failure(d.client(JournalService).listJournals({}));
    expect(refused).toMatchObject({ code: Code.ResourceExhausted, reason: ErrorReason.TOO_MANY_CONNECTIONS });
    expect(refused.message).toContain("the daemon already serves 100 connections, as many as it takes at once: a client is likely opening connections and not closing them");
    const overHttp1 = await http1(d.socketPath, "/tether.v1.JournalService/ListJournals", "{}", "application/json");
    expect(overHttp1.status).toBe(429);
    expect(JSON.parse(overHttp1.body)).toMatchObject({ code: "resource_exhausted", details: [{ debug: { reason: "ERROR_REASON_TOO_MANY_CONNECTIONS" } }] });
    // A client looping on the refusal does not grow the daemon's log by a line a try.
    for (let i = 0; i < 60; i++) expect((await http1(d.socketPath, "/tether.v1.JournalService/ListJournals", "{}", "application/json")).status).toBe(429);
    const refusals = d.log().split("\n").filter((line) => line.includes("connection refused"));
    expect(refusals).toHaveLength(LOG_KIND_LINES);
    expect(refusals.at(-1)).toContain(`(the last "connection refused" line logged for 60s; the rest are counted)`);
    // The daemon's own calls are still served on a new connection, so its user can see what happened and stop it.
    expect((await d.client(DaemonService).getDaemonInfo({})).daemon?.connections).toBeGreaterThan(100);
    expect((await http1(d.socketPath, "/tether.v1.DaemonService/GetDaemonInfo", "{}", "application/json")).status).toBe(200);
    // The connections already served go on; once some close, new ones are served.
    expect((await first.getDaemonInfo({})).daemon?.pid).toBe(d.process.pid);
    for (const socket of idle.splice(0, 10)) socket.destroy();
    expect(await eventually(async () => ((await d.client(JournalService).listJournals({}).catch(() => undefined)) !== undefined ? true : undefined))).toBe(true);
    for (const socket of idle) socket.destroy();
  });

  it("takes at most a quarter of its connections and calls from bwrap sandboxes (their socket): past that they are refused, and everyone else is served", async () => {
    // Under a limit of 200 open files: 100 connections, 400 calls; the sandboxes' share 25 connections, 100 calls.
    const d = await startDaemon(tempDirs(), { TETHER_DAEMON_LAUNCHER: "prlimit --nofile=200:200" });
    running.push(d);
    const sandboxSocket = join(d.home, "sandbox.sock");
    await d.client(JournalService).appendRecords({ name: "journals/j", records: [{ data: new Uint8Array(1) }] });
    const sandboxed = <S extends DescService>(service: S): Client<S> => createClient(service, createTransport(sandboxSocket));
    const info = d.client(DaemonService);
    const before = (await info.getDaemonInfo({})).daemon!.connections;
    const idle = await Promise.all(Array.from({ length: 25 }, () => new Promise<Socket>((resolve) => {
      const socket = connect(sandboxSocket, () => resolve(socket));
      socket.on("error", () => undefined);
    })));
    expect(await eventually(async () => ((await info.getDaemonInfo({})).daemon?.connections === before + 25 ? true : undefined))).toBe(true);
    const refused = await failure(sandboxed(JournalService).listJournals({}));
    expect(refused).toMatchObject({ code: Code.ResourceExhausted, reason: ErrorReason.TOO_MANY_CONNECTIONS });
    expect(refused.message).toContain("commands in bwrap sandboxes already have 25 connections, as many as the daemon takes from its sandboxes at once");
    // Everyone else goes on, on new connections too.
    expect((await d.client(JournalService).listJournals({})).journals.length).toBe(1);
    for (const socket of idle) socket.destroy();
    // Closed: what stays open is the user's client's connection (and the refused one, until the daemon closes it).
    expect(await eventually(async () => ((await info.getDaemonInfo({})).daemon!.connections <= before + 2 ? true : undefined))).toBe(true);

    // Calls: 100 following reads from the sandbox's socket, then the next is refused; the user's are served.
    const session = h2connect("http://localhost", { createConnection: () => connect(sandboxSocket) });
    session.on("error", () => undefined);
    const follows = Array.from({ length: 100 }, () => {
      const stream = session.request({ ":method": "POST", ":path": "/tether.v1.JournalService/ReadJournal", "content-type": "application/grpc", te: "trailers" });
      stream.on("error", () => undefined);
      stream.end(grpcFrame(ReadJournalRequestSchema, { name: "journals/j", follow: true }));
      return stream;
    });
    expect(await eventually(async () => ((await info.getDaemonInfo({})).daemon?.callsInProgress === 101 ? true : undefined))).toBe(true);
    const refusedCall = await failure(sandboxed(JournalService).listJournals({}));
    expect(refusedCall).toMatchObject({ code: Code.ResourceExhausted, reason: ErrorReason.TOO_MANY_CALLS });
    expect(refusedCall.message).toContain("commands in bwrap sandboxes already have 100 calls");
    expect((await d.client(JournalService).listJournals({})).journals.length).toBe(1);
    for (const stream of follows) stream.close();
    session.destroy();
  });

  it("serves at most four calls per connection it takes, and a thousand on one connection: past that, a clear error", async () => {
    // Under a limit of 200 open files: 100 connections, 400 calls.
    const d = await startDaemon(tempDirs(), { TETHER_DAEMON_LAUNCHER: "prlimit --nofile=200:200" });
    running.push(d);
    await d.client(JournalService).appendRecords({ name: "journals/j", records: [{ data: new Uint8Array(1) }] });
    const session = h2connect("http://localhost", { createConnection: () => connect(d.socketPath) });
    session.on("error", () => undefined);
    await new Promise((resolve) => session.once("remoteSettings", resolve));
    expect(session.remoteSettings.maxConcurrentStreams).toBe(1000);
    // 400 following reads that never end.
    const follows = Array.from({ length: 400 }, () => {
      const stream = session.request({ ":method": "POST", ":path": "/tether.v1.JournalService/ReadJournal", "content-type": "application/grpc", te: "trailers" });
      stream.on("error", () => undefined);
      stream.end(grpcFrame(ReadJournalRequestSchema, { name: "journals/j", follow: true }));
      return stream;
    });
    const info = d.client(DaemonService);
    expect(await eventually(async () => ((await info.getDaemonInfo({})).daemon?.callsInProgress === 401 ? true : undefined))).toBe(true);
    const refused = await failure(d.client(JournalService).listJournals({}));
    expect(refused).toMatchObject({ code: Code.ResourceExhausted, reason: ErrorReason.TOO_MANY_CALLS });
    expect(refused.message).toContain("the daemon already serves 400 calls, as many as it takes at once");
    // Once some end, calls are served again.
    for (const stream of follows.splice(0, 10)) stream.close();
    expect(await eventually(async () => ((await d.client(JournalService).listJournals({}).catch(() => undefined)) !== undefined ? true : undefined))).toBe(true);
    session.destroy();
  });

  it("keeps serving others when a client disconnects in the middle of a stream", async () => {
    const d = await daemon();
    const journals = d.client(JournalService);
    await journals.appendRecords({ name: "journals/j", records: [{ data: new Uint8Array([1]) }] });
    const abort = new AbortController();
    const stream = journals.readJournal({ name: "journals/j", follow: true }, { signal: abort.signal });
    for await (const msg of stream) {
      if (msg.caughtUp) break;
    }
    abort.abort();
    const socket = connect(d.socketPath);
    await new Promise((r) => socket.once("connect", r));
    socket.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    socket.destroy();
    const res = await journals.appendRecords({ name: "journals/j", records: [{ data: new Uint8Array([2]) }] });
    expect(res.lastSequence).toBe(2n);
  });

  it("stops gracefully: follow streams end with DAEMON_SHUTTING_DOWN, the socket is removed, exit 0", async () => {
    const d = await daemon();
    const journals = d.client(JournalService);
    await journals.appendRecords({ name: "journals/j", records: [{ data: new Uint8Array([1]) }] });
    const seen: number[] = [];
    let following!: () => void;
    const caughtUp = new Promise<void>((resolve) => (following = resolve));
    const reading = (async () => {
      for await (const msg of journals.readJournal({ name: "journals/j", follow: true })) {
        for (const r of msg.records) seen.push(Number(r.sequence));
        if (msg.caughtUp) following();
      }
    })().catch((e: unknown) => ConnectError.from(e));
    await caughtUp;
    const code = await d.stop();
    const ended = await reading;
    expect(code).toBe(0);
    expect(seen).toEqual([1]);
    expect(ended).toBeInstanceOf(ConnectError);
    expect((ended as ConnectError).code).toBe(Code.Unavailable);
    expect(reasonOf(ended)).toBe(ErrorReason.DAEMON_SHUTTING_DOWN);
    expect(existsSync(d.socketPath)).toBe(false);
  });

  it("a graceful stop does not wait for a client that keeps its connection open with no call under way", async () => {
    const d = await daemon();
    // A bare HTTP/2 client: the preface and its SETTINGS, then nothing; it never closes its side, even after the daemon's GOAWAY.
    const raw = connect({ path: d.socketPath, allowHalfOpen: true });
    raw.write(Buffer.concat([Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])]));
    await new Promise((resolve) => raw.once("data", resolve));
    raw.resume();
    const started = Date.now();
    expect(await d.stop()).toBe(0);
    // The daemon waits up to 5 s (SHUTDOWN_GRACE_MS) for calls still under way; this connection had none.
    expect(Date.now() - started).toBeLessThan(2_500);
    raw.destroy();
  });
});

describe("one daemon per socket and per state dir", () => {
  it("refuses a second daemon on the same socket, and the first keeps serving", async () => {
    const d = await daemon();
    const second = refusedStart({ TETHER_HOME: mkdtempSync(join(tmpdir(), "tether-home-")), TETHER_SOCKET: d.socketPath });
    expect(second.status).toBe(1);
    expect(second.output).toContain(`another tether daemon already serves ${d.socketPath}`);
    expect((await d.client(DaemonService).getDaemonInfo({})).daemon?.pid).toBe(d.process.pid);
  });

  it("refuses a second daemon on the same state dir with the database lock", async () => {
    const d = await daemon();
    const other = tempDirs();
    const second = refusedStart({ TETHER_HOME: d.home, TETHER_SOCKET: other.socketPath });
    expect(second.status).toBe(1);
    expect(second.output).toContain("is locked by another process");
    expect(second.output).toContain("TETHER_HOME");
  });

  it("removes a stale socket left by a killed daemon", async () => {
    const d = await daemon();
    await d.kill();
    expect(existsSync(d.socketPath)).toBe(true);
    await d.restart();
    running.push(d);
    expect((await d.client(DaemonService).getDaemonInfo({})).daemon?.pid).toBe(d.process.pid);
  });

  it("never removes a socket something else answers on", async () => {
    const dirs = tempDirs();
    const squatter = createServer();
    await new Promise<void>((r) => squatter.listen(dirs.socketPath, r));
    try {
      const r = refusedStart({ TETHER_HOME: dirs.home, TETHER_SOCKET: dirs.socketPath });
      expect(r.status).toBe(1);
      expect(r.output).toContain("does not hold tether's lock");
      expect(existsSync(dirs.socketPath)).toBe(true);
    } finally {
      squatter.close();
    }
  });
});

describe("bad environments get a clear refusal", () => {
  it("refuses a socket directory open to other users, naming the fix", () => {
    const dirs = tempDirs();
    const dir = join(dirs.socketPath, "..");
    chmodSync(dir, 0o755);
    const r = refusedStart({ TETHER_HOME: dirs.home, TETHER_SOCKET: dirs.socketPath });
    expect(r.status).toBe(1);
    expect(r.output).toContain(`chmod 700 ${dir}`);
  });

  it("refuses a socket directory of another user's, saying that each user runs a daemon of their own", () => {
    const dirs = tempDirs();
    // Another user's directory: one given to nobody when root (as CI runs), else root's own /.
    let dir = "/";
    if (process.getuid!() === 0) {
      dir = join(dirs.socketPath, "..", "theirs");
      mkdirSync(dir, { mode: 0o700 });
      chownSync(dir, 65534, 65534);
    }
    const r = refusedStart({ TETHER_HOME: dirs.home, TETHER_SOCKET: join(dir, "t.sock") });
    expect(r.status).toBe(1);
    expect(r.output).toContain(`the socket directory ${dir} belongs to another user`);
    expect(r.output).toContain("set TETHER_SOCKET to a path inside a directory of yours");
    expect(r.output).not.toContain("chmod");
  });

  it("refuses a state directory it cannot use, naming it and TETHER_HOME, from the daemon and from the CLI starting one", () => {
    const dirs = tempDirs();
    const file = join(dirs.home, "a-file");
    writeFileSync(file, "");
    const env = { ...process.env, TETHER_HOME: join(file, "home"), TETHER_SOCKET: dirs.socketPath };
    const expected = `cannot use the state directory ${join(file, "home")}: ENOTDIR`;
    const daemon = refusedStart(env as Record<string, string>);
    expect(daemon.status).toBe(1);
    expect(daemon.output).toContain(expected);
    expect(daemon.output).toContain("set TETHER_HOME to a directory you can write");
    expect(daemon.output).not.toContain("    at ");
    const cli = spawnSync(process.execPath, [CLI_ENTRY, "ls"], { env, encoding: "utf8", timeout: 20_000 });
    expect([cli.status, cli.stderr]).toEqual([1, expect.stringContaining(expected)]);
    expect(cli.stderr).toContain("set TETHER_HOME to a directory you can write");
  });

  it("refuses a socket directory it cannot create, saying XDG_RUNTIME_DIR may be another user's (as su leaves it)", () => {
    const dirs = tempDirs();
    // A runtime dir it cannot make its directory in: a file here (another user's /run/user/UID, kept by su, for a user who is not root).
    const runtime = join(dirs.home, "not-a-dir");
    writeFileSync(runtime, "");
    const r = refusedStart({ TETHER_HOME: dirs.home, TETHER_SOCKET: "", XDG_RUNTIME_DIR: runtime });
    expect(r.status).toBe(1);
    expect(r.output).toContain(`cannot start: cannot create the socket directory ${join(runtime, "tether")}: ENOTDIR`);
    expect(r.output).toContain(`if XDG_RUNTIME_DIR (${runtime}) is another user's (su keeps it: use su - or log in as yourself), unset it, or set TETHER_SOCKET to a path inside a directory of yours`);
    expect(r.output).not.toContain("    at ");
  });

  it("refuses a socket path too long for a Unix socket, naming TETHER_SOCKET", () => {
    const dirs = tempDirs();
    const r = refusedStart({ TETHER_HOME: dirs.home, TETHER_SOCKET: join(dirs.socketPath, "..", "x".repeat(120)) });
    expect(r.status).toBe(1);
    expect(r.output).toContain("set TETHER_SOCKET to a shorter path");
  });

  it("refuses a file that is not a database and says how to move it aside", () => {
    const dirs = tempDirs();
    const path = join(dirs.home, "tether.db");
    writeFileSync(path, "this is not a database, it is a file of text".repeat(200));
    const r = refusedStart({ TETHER_HOME: dirs.home, TETHER_SOCKET: dirs.socketPath });
    expect(r.status).toBe(1);
    expect(r.output).toContain(`the state database ${path} is damaged (file is not a database): set it aside and start the daemon again with a new one (mv ${path} ${path}.damaged`);
  });
});

describe("a state database damaged on disk", () => {
  /** Overwrites every page of `table`'s b-tree that holds rows (found with SQLite's dbstat) with 0xff bytes, as a bad disk or a stray write would. */
  function damage(databasePath: string, table: string): void {
    const db = new Database(databasePath, { readonly: true });
    const pages = db.prepare("SELECT pageno, pgsize FROM dbstat WHERE name = ? AND pagetype = 'leaf'").all(table) as { pageno: number; pgsize: number }[];
    db.close();
    expect(pages.length).toBeGreaterThan(0);
    const fd = openSync(databasePath, "r+");
    for (const { pageno, pgsize } of pages) writeSync(fd, Buffer.alloc(pgsize, 0xff), 0, pgsize, (pageno - 1) * pgsize);
    closeSync(fd);
  }

  it("answers a call that meets a damaged page with DATA_LOSS and what to do, and keeps serving; a start that meets one names the commands that set it aside", async () => {
    const d = await daemon();
    const sessions = d.client(SessionService);
    const file = writeTaskFile("tasks:\n  main:\n    cmd: echo hi\n");
    const { session } = await sessions.startSession({ task: "main", taskFile: file });
    await waitQuiet(sessions, session!.id);
    await d.stop();
    const path = join(d.home, "tether.db");
    damage(path, "runs");
    await d.restart();
    const error = await failure(d.client(SessionService).listRuns({ parent: session!.name }));
    expect([error.code, error.reason]).toEqual([Code.DataLoss, ErrorReason.STORE_FAILED]);
    expect(error.message).toContain("(SQLITE_CORRUPT: database disk image is malformed): the file is damaged: stop the daemon (tether daemon stop), move tether.db aside");
    expect((await d.client(DaemonService).getDaemonInfo({})).daemon?.pid).toBe(d.process.pid);

    await d.stop();
    damage(path, "sessions");
    const r = refusedStart({ TETHER_HOME: d.home, TETHER_SOCKET: d.socketPath });
    expect(r.status).toBe(1);
    expect(r.output).toContain(`the state database ${path} is damaged (database disk image is malformed)`);
    expect(r.output).not.toContain("    at ");
    const commands = /\((mv .*)\);/.exec(r.output)?.[1];
    expect(commands).toContain(`mv ${path} ${path}.damaged`);
    expect(spawnSync("sh", ["-c", commands!]).status).toBe(0);
    await d.restart();
    expect((await d.client(SessionService).listSessions({})).sessions).toEqual([]);
    expect(existsSync(`${path}.damaged`)).toBe(true);
  });
});
