/**
 * `npm run bench`: every figure beside a floor measured in the same run, on
 * this machine, now. Machines are shared and noisy, so targets live here and
 * never in tests. Prints a markdown table.
 */
import Database from "better-sqlite3";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { connect as h2connect } from "node:http2";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { GrpcClient, grpcFrame } from "../client/grpc-client.js";
import { createTransport } from "../test/helpers/connect-transport.js";
import { Journals } from "../daemon/journal/journals.js";
import { openDatabase } from "../daemon/store/database.js";
import { DaemonService } from "../gen/tether/v1/daemon_service_pb.js";
import { JournalService, ReadJournalRequestSchema } from "../gen/tether/v1/journal_service_pb.js";
import { CLI_ENTRY, ROOT, startDaemon, type TestDaemon } from "../test/helpers/daemon.js";
import { benchListing } from "./listing.js";
import { benchSpawn } from "./spawn.js";
import { benchGraphs, benchOutput } from "./sessions.js";
import { benchTaskFile } from "./task-file.js";
import { benchStreams } from "./streams.js";
import { benchExecs } from "./execs.js";
import { benchPtys } from "./ptys.js";
import { readInFreshProcess } from "./readers.js";
import { median, medianMsInTurn, percentile, type Command } from "./stats.js";

interface Row {
  readonly name: string;
  readonly value: string;
  readonly floor: string;
  readonly ratio: string;
  readonly target: string;
  readonly met: boolean | undefined;
}
const rows: Row[] = [];
const fmt = (n: number, digits = 0): string => n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });

function report(name: string, value: string, floor: string, ratio: number | undefined, target: string, met: boolean | undefined): void {
  rows.push({ name, value, floor, ratio: ratio === undefined ? "" : `${ratio.toFixed(2)}×`, target, met });
  process.stderr.write(`  ${name}: ${value} (floor ${floor})\n`);
}


function tempSocket(): string {
  return join(mkdtempSync(join(tmpdir(), "tether-bench-")), "s.sock");
}

async function startFloorServer(script: string, socketPath: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [join(ROOT, "bench", "floors", script), socketPath], { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise<void>((resolve) => child.stdout?.once("data", () => resolve()));
  return child;
}

function rssMb(pid: number, field: "VmRSS" | "VmHWM"): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith(field));
  return Number(line?.replace(/\D+/g, "")) / 1024;
}

// --- CLI round trip --------------------------------------------------------

function benchCli(d: TestDaemon): void {
  const node = (...args: string[]): Command => ({ file: process.execPath, args, env: d.env });
  const [node0, floor, ours] = medianMsInTurn([node("-e", "0"), node(join(ROOT, "bench", "floors", "http2-one-call.mjs"), d.socketPath), node(CLI_ENTRY, "daemon", "status")], 15);
  report("CLI round trip: tether daemon status (median of 15, in turn with the floors)", `${fmt(ours)} ms`, `bare node:http2 one call ${fmt(floor)} ms; node -e 0 ${fmt(node0)} ms`, ours / floor, "≤ 1.3×", ours / floor <= 1.3);
}

// --- unary latency ---------------------------------------------------------

async function latencies(call: () => Promise<unknown>, n: number): Promise<number[]> {
  for (let i = 0; i < 300; i++) await call();
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    await call();
    out.push(Number(process.hrtime.bigint() - t) / 1000);
  }
  return out.sort((a, b) => a - b);
}

function bareUnary(socketPath: string, path: string): () => Promise<void> {
  const session = h2connect("http://localhost", { createConnection: () => connect(socketPath) });
  return () =>
    new Promise<void>((resolve, reject) => {
      const req = session.request({ ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers" });
      req.on("data", () => {});
      req.on("end", resolve);
      req.on("error", reject);
      req.end(Buffer.from([0, 0, 0, 0, 0]));
    });
}

async function benchUnary(d: TestDaemon): Promise<void> {
  const n = 3000;
  const floorSocket = tempSocket();
  const floorServer = await startFloorServer("http2-unary-server.mjs", floorSocket);
  const floor = await latencies(bareUnary(floorSocket, "/x.Y/Z"), n);
  floorServer.kill();
  // The daemon's handler path takes a few thousand calls to be optimised by V8 (a bare
  // client's p50 against it fell from ~510 to ~260 µs here): measure the warm daemon a
  // long-lived one is, as the floor server is warm after its first few calls.
  await latencies(bareUnary(d.socketPath, "/tether.v1.DaemonService/GetDaemonInfo"), 3000);
  const client = new GrpcClient(d.socketPath);
  const ours = await latencies(() => client.unary(DaemonService.method.getDaemonInfo, {}), n);
  client.close();
  const connectClient = createClient(DaemonService, createTransport(d.socketPath));
  const viaConnect = await latencies(() => connectClient.getDaemonInfo({}), n);
  const bareToDaemon = await latencies(bareUnary(d.socketPath, "/tether.v1.DaemonService/GetDaemonInfo"), n);
  const [f50, o50, c50, b50] = [percentile(floor, 50), percentile(ours, 50), percentile(viaConnect, 50), percentile(bareToDaemon, 50)];
  report("Unary RPC p50, the CLI's client → daemon", `${fmt(o50)} µs (p99 ${fmt(percentile(ours, 99))} µs)`, `bare node:http2 ${fmt(f50)} µs (p99 ${fmt(percentile(floor, 99))} µs)`, o50 / f50, "p50 ≤ 2×", o50 / f50 <= 2);
  report("Unary RPC p50, connect-node client → daemon", `${fmt(c50)} µs (p99 ${fmt(percentile(viaConnect, 99))} µs)`, `bare node:http2 ${fmt(f50)} µs`, c50 / f50, "", undefined);
  report("Unary RPC p50, bare http2 client → daemon (server cost alone)", `${fmt(b50)} µs (p99 ${fmt(percentile(bareToDaemon, 99))} µs)`, `bare node:http2 ${fmt(f50)} µs`, b50 / f50, "", undefined);
}

// --- server streaming ------------------------------------------------------

const STREAM_ROUNDS = 5;

async function benchStreaming(d: TestDaemon): Promise<void> {
  const messages = 4096; // 256 MiB of 64 KiB messages
  const floorSocket = tempSocket();
  const floorServer = await startFloorServer("grpc-js-stream-server.mjs", floorSocket);
  const journals = new GrpcClient(d.socketPath);
  const record = { data: new Uint8Array(64 * 1024).fill(7) };
  for (let i = 0; i < messages / 64; i++) await journals.unary(JournalService.method.appendRecords, { name: "journals/stream", records: Array.from({ length: 64 }, () => record) });
  journals.close();
  // Alternating rounds, medians of each: one round of each swung 0.5-0.96× with whatever else the machine did.
  const floorRounds: number[] = [];
  const ourRounds: number[] = [];
  // Each read in a process of its own, as a `tether` command and a program of the floor's would be (readers.ts).
  for (let round = 0; round < STREAM_ROUNDS; round++) {
    floorRounds.push((await readInFreshProcess("streamGrpcJs", floorSocket, messages)).mbs);
    ourRounds.push((await readInFreshProcess("streamCli", d.socketPath, "journals/stream")).mbs);
  }
  floorServer.kill();
  const [floorMBs, oursMBs] = [median(floorRounds), median(ourRounds)];
  report(
    `Server streaming, the CLI's client (ReadJournal of 256 MiB in 64 KiB records, median of ${STREAM_ROUNDS}, alternating with the floor)`,
    `${fmt(oursMBs)} MB/s`,
    `grpc-js, 1 MiB windows ${fmt(floorMBs)} MB/s`,
    oursMBs / floorMBs,
    "≥ 0.8×",
    oursMBs / floorMBs >= 0.8,
  );
}

// --- journal in process ------------------------------------------------------

/** The journal's rounds: appends, then reads, each alternating with raw SQLite's, medians compared (one round swings by half here). */
const JOURNAL_ROUNDS = 5;

async function benchJournal(): Promise<void> {
  const total = 200_000;
  const payload = new Uint8Array(100).fill(1);
  const rawDb = new Database(join(mkdtempSync(join(tmpdir(), "tether-bench-")), "raw.db"));
  rawDb.pragma("journal_mode = WAL");
  rawDb.pragma("synchronous = FULL");
  rawDb.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, data BLOB NOT NULL)");
  const insert = rawDb.prepare("INSERT INTO t (data) VALUES (?)");
  const insertMany = rawDb.transaction((n: number) => {
    for (let i = 0; i < n; i++) insert.run(payload);
  });
  // Each round's raw reads take the first round's rows, as ours read the first round's journal.
  const firstRows = rawDb.prepare("SELECT id, data FROM t WHERE id <= ?");
  const dir = mkdtempSync(join(tmpdir(), "tether-bench-"));
  const db = openDatabase(join(dir, "tether.db"));
  const journals = new Journals(db, join(dir, "output"));
  const rate = (start: bigint, rows: number): number => rows / (Number(process.hrtime.bigint() - start) / 1e9);
  const rawAppends: number[] = [];
  const ourAppends: number[] = [];
  const rawReads: number[] = [];
  const ourReads: number[] = [];
  for (let round = 0; round < JOURNAL_ROUNDS; round++) {
    let t = process.hrtime.bigint();
    for (let i = 0; i < total / 1000; i++) insertMany(1000);
    rawAppends.push(rate(t, total));
    t = process.hrtime.bigint();
    for (let wave = 0; wave < total / 1000; wave++) {
      await Promise.all(Array.from({ length: 1000 }, () => journals.append(`bench-${round}`, [{ data: payload }])));
    }
    ourAppends.push(rate(t, total));
  }
  for (let round = 0; round < JOURNAL_ROUNDS; round++) {
    let t = process.hrtime.bigint();
    let n = 0;
    for (const _ of firstRows.iterate(total)) n++;
    rawReads.push(rate(t, n));
    t = process.hrtime.bigint();
    n = 0;
    for await (const batch of journals.read("bench-0", { cursor: { kind: "start" }, follow: false, signal: new AbortController().signal })) n += batch.records.length;
    ourReads.push(rate(t, n));
  }
  rawDb.close();
  journals.close();
  db.close();
  const [rawAppend, ourAppend, rawRead, ourRead] = [median(rawAppends), median(ourAppends), median(rawReads), median(ourReads)];
  const rounds = `median of ${JOURNAL_ROUNDS}, alternating with the floor`;
  report(`Journal appends, durable (1000 concurrent single-record appends per wave; ${rounds})`, `${fmt(ourAppend)} rows/s`, `raw better-sqlite3, 1000 rows/txn ${fmt(rawAppend)} rows/s`, ourAppend / rawAppend, "≥ 0.5×", ourAppend / rawAppend >= 0.5);
  report(`Journal read from cursor (${rounds})`, `${fmt(ourRead)} rows/s`, `raw iterate() ${fmt(rawRead)} rows/s`, ourRead / rawRead, "≥ 0.5×", ourRead / rawRead >= 0.5);
}

// --- fan-out and a stuck follower -------------------------------------------

async function benchFollowers(d: TestDaemon): Promise<void> {
  const followers = 100;
  const records = 20_000;
  const journals = createClient(JournalService, createTransport(d.socketPath));
  await journals.createJournal({ journalId: "fan" });
  let caughtUp = 0;
  const complete: boolean[] = [];
  const readers = Array.from({ length: followers }, async (_, i) => {
    const client = createClient(JournalService, createTransport(d.socketPath));
    let expected = 1n;
    const abort = new AbortController();
    try {
      for await (const msg of client.readJournal({ name: "journals/fan", follow: true }, { signal: abort.signal })) {
        if (msg.caughtUp) caughtUp++;
        for (const r of msg.records) {
          if (r.sequence !== expected) throw new Error(`follower ${i} got ${r.sequence}, expected ${expected}`);
          expected++;
        }
        if (expected > BigInt(records)) break;
      }
    } finally {
      abort.abort();
    }
    complete[i] = expected > BigInt(records);
  });
  while (caughtUp < followers) await new Promise((r) => setTimeout(r, 10));
  const t = process.hrtime.bigint();
  const data = new Uint8Array(100).fill(3);
  for (let i = 0; i < records / 100; i++) await journals.appendRecords({ name: "journals/fan", records: Array.from({ length: 100 }, () => ({ data })) });
  await Promise.all(readers);
  const seconds = Number(process.hrtime.bigint() - t) / 1e9;
  const all = complete.filter(Boolean).length;
  report(`${followers} followers of one journal (${fmt(records)} records)`, `${all}/${followers} received every record, in order; ${fmt((followers * records) / seconds)} deliveries/s`, "", undefined, "all receive every record", all === followers);
}

async function benchStuckFollower(): Promise<void> {
  const d = await startDaemon();
  try {
    const journals = createClient(JournalService, createTransport(d.socketPath));
    await journals.createJournal({ journalId: "flood", retention: { maxBytes: BigInt(256 << 20) } });
    const before = rssMb(d.process.pid as number, "VmRSS");
    // A follower that opens the stream and never reads a byte.
    const session = h2connect("http://localhost", { createConnection: () => connect(d.socketPath) });
    const stuck = session.request({ ":method": "POST", ":path": "/tether.v1.JournalService/ReadJournal", "content-type": "application/grpc", te: "trailers" });
    stuck.end(grpcFrame(ReadJournalRequestSchema, { name: "journals/flood", follow: true }));
    stuck.pause();
    const chunk = { data: new Uint8Array(1 << 20).fill(9) };
    const t = process.hrtime.bigint();
    for (let i = 0; i < 256; i++) await journals.appendRecords({ name: "journals/flood", records: [chunk, chunk, chunk, chunk] });
    const seconds = Number(process.hrtime.bigint() - t) / 1e9;
    const peak = rssMb(d.process.pid as number, "VmHWM");
    session.destroy();
    report("Daemon RSS with one stuck follower while 1 GiB is appended", `peak ${fmt(peak)} MB (idle ${fmt(before)} MB); appended at ${fmt(1024 / seconds)} MiB/s`, "", undefined, "≤ 256 MB", peak <= 256);
  } finally {
    await d.kill();
  }
}

/** Benchmarks that share one daemon, in the order a full run takes them; `--NAME-only` runs one group. */
const DAEMON_GROUPS: Record<string, (d: TestDaemon) => Promise<void>> = {
  rpc: async (d) => {
    benchCli(d);
    await benchUnary(d);
    await benchStreaming(d);
    await benchFollowers(d);
  },
  sessions: async (d) => {
    benchGraphs(d, report);
    await benchOutput(d, report);
    await benchTaskFile(d, report);
  },
  streams: (d) => benchStreams(d, report),
  execs: (d) => benchExecs(d, report),
  ptys: (d) => benchPtys(d, report),
};

async function withDaemon(run: (d: TestDaemon) => Promise<void>): Promise<void> {
  const d = await startDaemon();
  try {
    await run(d);
  } finally {
    await d.kill();
  }
}

async function main(): Promise<void> {
  process.stderr.write("tether benchmarks (each figure beside a floor measured now)\n");
  // `--rpc-only --streams-only` runs both groups, in a full run's order, on one daemon.
  const only = Object.keys(DAEMON_GROUPS).filter((name) => process.argv.includes(`--${name}-only`));
  if (only.length > 0) {
    await withDaemon(async (d) => {
      for (const name of only) await DAEMON_GROUPS[name]!(d);
    });
    if (only.includes("sessions")) {
      await benchListing(report);
      await benchSpawn(report);
    }
    return printTable();
  }
  await benchJournal();
  if (process.argv.includes("--journal-only")) return printTable();
  await withDaemon(async (d) => {
    for (const run of Object.values(DAEMON_GROUPS)) await run(d);
  });
  await benchStuckFollower();
  await benchListing(report);
  await benchSpawn(report);
  printTable();
}

function printTable(): void {
  const lines = [
    "| benchmark | tether | floor (same run) | ratio | target | met |",
    "|---|---|---|---|---|---|",
    ...rows.map((r) => `| ${r.name} | ${r.value} | ${r.floor} | ${r.ratio} | ${r.target} | ${r.met === undefined ? "" : r.met ? "yes" : "**no**"} |`),
  ];
  process.stdout.write(`\n${lines.join("\n")}\n`);
}

// Every file a benchmark makes (daemon homes holding GiBs of output, raw SQLite floors,
// sockets) goes under one scratch directory, removed at the end, even after a failure:
// os.tmpdir() follows TMPDIR, and the daemons inherit it.
const scratch = mkdtempSync(join(tmpdir(), "tether-bench-run-"));
process.env["TMPDIR"] = scratch;
try {
  await main();
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
process.exit(0);
