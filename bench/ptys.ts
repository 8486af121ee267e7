/** PTY benchmarks: output to an attached client and keystroke round trips against raw node-pty, and 100 open shells. */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PtyService } from "../gen/tether/v1/pty_service_pb.js";
import { WorkspaceService } from "../gen/tether/v1/workspace_service_pb.js";
import { startDaemon, type TestDaemon } from "../test/helpers/daemon.js";
import { KEYSTROKE_LOOPS, typeInFreshProcess } from "./keystrokes.js";
import { readInFreshProcess } from "./readers.js";
import type { Report } from "./sessions.js";
import { median, percentile } from "./stats.js";

const fmt = (n: number, digits = 0): string => n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
const CAT_ROUNDS = 9;
/** Keystroke round trips are measured in this many rounds of this many, each of raw node-pty, the relay floor and the daemon in turn. */
const KEYSTROKE_ROUNDS = 10;
const KEYSTROKES_PER_ROUND = 200;
/**
 * Keystrokes typed before each round's measured ones, on every side, and
 * reported apart: steady typing is what the target is about. A process just
 * started runs code not yet compiled, and so does a daemon whose terminal
 * path has not carried many keystrokes yet: V8 compiles hot functions as
 * counts of calls are reached, on a thread that takes one of the machine's
 * two cores from the four processes on a keystroke's path. Through one new
 * daemon, the bare client's p99 was 2.2 ms over the first 2,000 keystrokes and
 * again over the next 2,000, then 0.34 and 0.53 ms (its p50 184, 113, 97, 87
 * µs), with the slow keystrokes at nearly the same counts in two runs
 * (probe, 2026-12-06).
 */
const WARMUP_KEYSTROKES = 1000;
/**
 * Keystrokes typed through the daemon before the rounds, not counted: its
 * terminal path as a daemon that has been typed into has it (a daemon runs
 * for days), which the first rounds' 1,000 each would otherwise not give it
 * (see WARMUP_KEYSTROKES). The floors' processes are new in each round; a
 * loop of theirs is a few functions, compiled within its own warm-up.
 */
const DAEMON_WARMUP_KEYSTROKES = 6000;

function rssMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith("VmRSS"));
  return Number(line?.replace(/\D+/g, "")) / 1024;
}

export async function benchPtys(d: TestDaemon, report: Report): Promise<void> {
  await d.client(WorkspaceService).createWorkspace({ displayName: "pty-bench" });

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

  await typeInFreshProcess("bare", d.socketPath, "pty-bench", DAEMON_WARMUP_KEYSTROKES);
  // In rounds, alternating, so the four meet the machine's same moments; each round's first
  // WARMUP_KEYSTROKES kept apart from its measured ones.
  const sides: Record<keyof typeof KEYSTROKE_LOOPS, { first: number[]; steady: number[] }> = { raw: { first: [], steady: [] }, relay: { first: [], steady: [] }, cli: { first: [], steady: [] }, bare: { first: [], steady: [] } };
  const keystrokes = WARMUP_KEYSTROKES + KEYSTROKES_PER_ROUND;
  for (let round = 0; round < KEYSTROKE_ROUNDS; round++) {
    for (const name of ["raw", "relay", "cli", "bare"] as const) {
      const times = await (name === "raw" || name === "relay" ? typeInFreshProcess(name, keystrokes) : typeInFreshProcess(name, d.socketPath, "pty-bench", keystrokes));
      sides[name].first.push(...times.slice(0, WARMUP_KEYSTROKES));
      sides[name].steady.push(...times.slice(WARMUP_KEYSTROKES));
    }
  }
  for (const side of Object.values(sides)) for (const times of [side.first, side.steady]) times.sort((a, b) => a - b);
  const p = (times: number[]): string => `p50 ${fmt(percentile(times, 50))} µs, p99 ${fmt(percentile(times, 99))} µs`;
  const { raw: rawKeys, relay, cli, bare } = sides;
  report(
    `PTY keystroke round trip through the daemon, the CLI's client, steady typing (${KEYSTROKE_ROUNDS} rounds of ${KEYSTROKES_PER_ROUND} keystrokes, each round in a process of its own after its first ${fmt(WARMUP_KEYSTROKES)}; the daemon typed into ${fmt(DAEMON_WARMUP_KEYSTROKES)} times before)`,
    p(cli.steady),
    `raw node-pty ${p(rawKeys.steady)}; bare node:http2 relay to node-pty (three processes, no tether code) ${p(relay.steady)}`,
    undefined,
    "p50 ≤ raw + 250 µs, p99 ≤ 2 ms",
    percentile(cli.steady, 50) <= percentile(rawKeys.steady, 50) + 250 && percentile(cli.steady, 99) <= 2000,
  );
  report(
    `PTY keystroke round trip, a bare HTTP/2 client → daemon (the daemon's part alone, in turn with the rounds above), steady typing`,
    p(bare.steady),
    `the relay floor above: ${p(relay.steady)}`,
    undefined,
    "",
    undefined,
  );
  report(
    `PTY keystroke round trip, the CLI's client, each round's first ${fmt(WARMUP_KEYSTROKES)} keystrokes (a client process just started)`,
    p(cli.first),
    `raw node-pty ${p(rawKeys.first)}; the relay ${p(relay.first)}`,
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
