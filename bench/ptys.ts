/** PTY benchmarks: output to an attached client and keystroke round trips against raw node-pty, and 100 open shells. */
import * as pty from "node-pty";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { connect as h2connect } from "node:http2";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { GrpcClient, grpcFrame } from "../client/grpc-client.js";
import { AttachPtyRequestSchema, PtyService } from "../gen/tether/v1/pty_service_pb.js";
import { WorkspaceService } from "../gen/tether/v1/workspace_service_pb.js";
import { ROOT, startDaemon, type TestDaemon } from "../test/helpers/daemon.js";
import { RequestQueue } from "../test/helpers/request-queue.js";
import { readInFreshProcess } from "./readers.js";
import type { Report } from "./sessions.js";
import { median, percentile } from "./stats.js";

const fmt = (n: number, digits = 0): string => n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
const CAT_ROUNDS = 9;
/**
 * Keystrokes typed and not counted before the measured ones, on both sides:
 * the first few run code not yet compiled (the first echo through the daemon
 * took ~9 ms, the raw loop's first ~1 ms), and steady typing is what is measured.
 */
const WARMUP_KEYSTROKES = 20;
/** Keystroke round trips are measured in this many rounds of this many, each of raw node-pty, the relay floor and the daemon in turn. */
const KEYSTROKE_ROUNDS = 10;
const KEYSTROKES_PER_ROUND = 200;

function rssMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith("VmRSS"));
  return Number(line?.replace(/\D+/g, "")) / 1024;
}

/** Keystroke round trips: `came` is called on each echo; `roundTrips` types, waits for the echo, and times it. */
class Echoes {
  private wake: (() => void) | undefined;

  readonly came = (): void => this.wake?.();

  /** `samples` round trips in µs, sorted, after WARMUP_KEYSTROKES not counted. */
  async roundTrips(samples: number, type: () => void): Promise<number[]> {
    const times: number[] = [];
    for (let i = 0; i < WARMUP_KEYSTROKES + samples; i++) {
      const echoed = new Promise<void>((resolve) => (this.wake = resolve));
      const t = process.hrtime.bigint();
      type();
      await echoed;
      if (i >= WARMUP_KEYSTROKES) times.push(Number(process.hrtime.bigint() - t) / 1e3);
    }
    return times.sort((a, b) => a - b);
  }
}

/** Raw node-pty: write one byte to `cat` and wait for its echo; round trips in µs. */
export async function rawRoundTrips(samples: number): Promise<number[]> {
  const term = pty.spawn("cat", [], { cols: 80, rows: 24, encoding: null });
  const echo = new Echoes();
  term.onData(echo.came);
  await new Promise((r) => setTimeout(r, 200));
  const times = await echo.roundTrips(samples, () => term.write("x"));
  // Gone before the next round starts: its end is not that round's to meet.
  const exited = new Promise((resolve) => term.onExit(resolve));
  term.kill();
  await exited;
  return times;
}

/** The relay floor (floors/pty-relay-server.mjs): write one byte on an HTTP/2 stream and wait for cat's echo; round trips in µs. */
async function relayRoundTrips(samples: number): Promise<number[]> {
  const socketPath = join(mkdtempSync(join(tmpdir(), "tether-bench-relay-")), "s.sock");
  const server = spawn(process.execPath, [join(ROOT, "bench", "floors", "pty-relay-server.mjs"), socketPath], { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise((resolve) => server.stdout.once("data", resolve));
  const session = h2connect("http://localhost", { createConnection: () => connect(socketPath) });
  const stream = session.request({ ":method": "POST", ":path": "/" });
  const echo = new Echoes();
  stream.on("data", echo.came);
  await new Promise((r) => setTimeout(r, 200));
  const times = await echo.roundTrips(samples, () => stream.write("x"));
  session.destroy();
  // Gone before the next round starts (a Node process and its terminal: ~50 MB to give back).
  const exited = new Promise((resolve) => server.once("exit", resolve));
  server.kill();
  await exited;
  return times;
}

/**
 * The daemon's part alone: the same round trips through the daemon from a
 * bare node:http2 client writing prebuilt gRPC frames, as the relay floor's
 * client writes bytes (every response after the first, `opened`, is an echo).
 */
async function bareRoundTrips(d: TestDaemon, open: MessageInitShape<typeof AttachPtyRequestSchema>, samples: number): Promise<number[]> {
  const session = h2connect("http://localhost", { createConnection: () => connect(d.socketPath) });
  const stream = session.request({ ":method": "POST", ":path": "/tether.v1.PtyService/AttachPty", "content-type": "application/grpc", te: "trailers" });
  const echo = new Echoes();
  let opened = false;
  stream.on("data", () => (opened ? echo.came() : (opened = true)));
  stream.write(grpcFrame(AttachPtyRequestSchema, open));
  await new Promise((r) => setTimeout(r, 300));
  const input = grpcFrame(AttachPtyRequestSchema, { kind: { case: "input", value: Buffer.from("x") } });
  const times = await echo.roundTrips(samples, () => stream.write(input));
  // Killed, the program's exit ends the call; the request side ends here.
  stream.end(grpcFrame(AttachPtyRequestSchema, { kind: { case: "signal", value: "KILL" } }));
  await new Promise((resolve) => stream.once("close", resolve).resume());
  session.destroy();
  return times;
}

/**
 * The same round trips through the daemon, with the CLI's own client (what
 * `tether pty` types through), waiting for each echo as the raw loop does.
 */
export async function cliRoundTrips(d: TestDaemon, open: MessageInitShape<typeof AttachPtyRequestSchema>, samples: number): Promise<number[]> {
  const client = new GrpcClient(d.socketPath);
  const requests = new RequestQueue<MessageInitShape<typeof AttachPtyRequestSchema>>();
  requests.push(open);
  const echo = new Echoes();
  const done = (async () => {
    for await (const response of client.bidiStream(PtyService.method.attachPty, requests)) if (response.kind.case === "output") echo.came();
  })();
  await new Promise((r) => setTimeout(r, 300));
  const times = await echo.roundTrips(samples, () => requests.push({ kind: { case: "input", value: Buffer.from("x") } }));
  requests.push({ kind: { case: "signal", value: "KILL" } });
  await done;
  client.close();
  return times;
}

export async function benchPtys(d: TestDaemon, report: Report): Promise<void> {
  await d.client(WorkspaceService).createWorkspace({ displayName: "pty-bench" });
  const open = (argv: string[]) => ({ kind: { case: "open" as const, value: { target: { case: "create" as const, value: { workspace: "pty-bench", argv } }, size: { cols: 80, rows: 24 } } } });

  const bytes = 200 * 1000 * 1000;
  const file = join(mkdtempSync(join(tmpdir(), "tether-bench-pty-")), "200mb.txt");
  writeFileSync(file, Buffer.alloc(bytes, "0123456789abcdef"));
  // Alternating rounds, medians of each: one round of each was at the mercy of whatever else
  // the machine did meanwhile (the 200 MB just written still going to disk, for one).
  const rawRounds: number[] = [];
  const ourRounds: number[] = [];
  let everyByte = true;
  for (let round = 0; round < CAT_ROUNDS; round++) {
    // Each read in a process of its own, as `tether pty` and a program of the floor's would be (readers.ts).
    rawRounds.push((await readInFreshProcess("ptyRaw", file)).mbs);
    const ours = await readInFreshProcess("ptyCli", d.socketPath, "pty-bench", file);
    ourRounds.push(ours.mbs);
    everyByte &&= ours.bytes === bytes;
  }
  const [raw, ours] = [median(rawRounds), median(ourRounds)];
  report(
    `PTY output to an attached client (the CLI's): cat of a 200 MB file (median of ${CAT_ROUNDS}, alternating with the floor)`,
    `${fmt(ours)} MB/s (${everyByte ? "every byte, every round" : "bytes missing"})`,
    `raw node-pty ${fmt(raw)} MB/s`,
    ours / raw,
    "≥ 0.8×",
    everyByte && ours / raw >= 0.8,
  );

  // In rounds, alternating, so the four meet the machine's same moments.
  const [rawTimes, relayTimes, ourTimes, bareTimes]: [number[], number[], number[], number[]] = [[], [], [], []];
  for (let round = 0; round < KEYSTROKE_ROUNDS; round++) {
    rawTimes.push(...(await rawRoundTrips(KEYSTROKES_PER_ROUND)));
    relayTimes.push(...(await relayRoundTrips(KEYSTROKES_PER_ROUND)));
    ourTimes.push(...(await cliRoundTrips(d, open(["cat"]), KEYSTROKES_PER_ROUND)));
    bareTimes.push(...(await bareRoundTrips(d, open(["cat"]), KEYSTROKES_PER_ROUND)));
  }
  for (const times of [rawTimes, relayTimes, ourTimes, bareTimes]) times.sort((a, b) => a - b);
  const [p50, p99, rawP50, rawP99] = [percentile(ourTimes, 50), percentile(ourTimes, 99), percentile(rawTimes, 50), percentile(rawTimes, 99)];
  report(
    `PTY keystroke round trip through the daemon, the CLI's client (${KEYSTROKE_ROUNDS} rounds of ${KEYSTROKES_PER_ROUND} keystrokes, each after ${WARMUP_KEYSTROKES} not counted)`,
    `p50 ${fmt(p50)} µs, p99 ${fmt(p99)} µs`,
    `raw node-pty p50 ${fmt(rawP50)} µs, p99 ${fmt(rawP99)} µs; bare node:http2 relay to node-pty (three processes, no tether code) p50 ${fmt(percentile(relayTimes, 50))} µs, p99 ${fmt(percentile(relayTimes, 99))} µs`,
    undefined,
    "p50 ≤ raw + 250 µs, p99 ≤ 2 ms",
    p50 <= rawP50 + 250 && p99 <= 2000,
  );
  report(
    "PTY keystroke round trip, a bare HTTP/2 client → daemon (the daemon's part alone, in turn with the rounds above)",
    `p50 ${fmt(percentile(bareTimes, 50))} µs, p99 ${fmt(percentile(bareTimes, 99))} µs`,
    `the relay floor above: p50 ${fmt(percentile(relayTimes, 50))} µs, p99 ${fmt(percentile(relayTimes, 99))} µs`,
    undefined,
    "",
    undefined,
  );

  await benchOpenShells(report);
}

/**
 * 100 PTYs with a shell each, on a daemon of their own: what they cost, not
 * what the benchmarks before them left in the shared daemon's memory.
 */
async function benchOpenShells(report: Report): Promise<void> {
  const d = await startDaemon();
  try {
    await d.client(WorkspaceService).createWorkspace({ displayName: "shells" });
    const ptys = d.client(PtyService);
    await ptys.listPtys({});
    const before = rssMb(d.process.pid!);
    const ids: string[] = [];
    for (let i = 0; i < 100; i++) ids.push((await ptys.createPty({ spec: { workspace: "shells", argv: ["sh"] } })).pty!.id);
    await new Promise((r) => setTimeout(r, 1000));
    const after = rssMb(d.process.pid!);
    report("100 PTYs open, a shell in each (a daemon of their own)", `daemon RSS ${fmt(after)} MB (${fmt(after - before)} MB more than with none)`, "", undefined, "", undefined);
    await Promise.all(ids.map((id) => ptys.closePty({ pty: id, grace: { seconds: 1n } })));
  } finally {
    await d.kill();
  }
}
