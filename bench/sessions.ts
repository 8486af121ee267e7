/** Session benchmarks: task graphs against ninja, and run output into the journal against a raw pipe. */
import { spawnSync } from "node:child_process";
import { closeSync, constants, fdatasyncSync, mkdtempSync, openSync, rmSync, write, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { SessionStatus } from "../gen/tether/v1/session_pb.js";
import { SessionService } from "../gen/tether/v1/session_service_pb.js";
import { AlignedMemory } from "../daemon/journal/direct-blocks.js";
import { CLI_ENTRY, type TestDaemon } from "../test/helpers/daemon.js";
import { readInFreshProcess } from "./readers.js";
import { median, timedMs } from "./stats.js";

export type Report = (name: string, value: string, floor: string, ratio: number | undefined, target: string, met: boolean | undefined) => void;
const TASKS = 1000;
/** Each graph runs this many times under tether and under ninja, alternating; the medians are compared. */
const GRAPH_ROUNDS = 3;

function graphDir(chain: boolean): string {
  const dir = mkdtempSync(join(tmpdir(), "tether-bench-graph-"));
  const names = Array.from({ length: TASKS }, (_, i) => `t${i}`);
  const yaml = ["tasks:"];
  for (let i = 0; i < TASKS; i++) yaml.push(`  t${i}: { cmd: ["true"]${chain && i > 0 ? `, upstream: [t${i - 1}]` : ""} }`);
  yaml.push(`  all: { cmd: ["true"], upstream: [${chain ? `t${TASKS - 1}` : names.join(", ")}] }`);
  writeFileSync(join(dir, "tether.yaml"), `${yaml.join("\n")}\n`);
  const ninja = ["rule t", "  command = true && touch $out"];
  for (let i = 0; i < TASKS; i++) ninja.push(`build o${i}: t${chain && i > 0 ? ` | o${i - 1}` : ""}`);
  ninja.push(`build all: t ${chain ? `| o${TASKS - 1}` : `| ${names.map((_, i) => `o${i}`).join(" ")}`}`);
  writeFileSync(join(dir, "build.ninja"), `${ninja.join("\n")}\n`);
  return dir;
}

export function benchGraphs(d: TestDaemon, report: Report): void {
  if (spawnSync("ninja", ["--version"]).status !== 0) {
    report("task graphs vs ninja", "skipped: ninja is not installed (apt-get install ninja-build)", "", undefined, "≤ 2.0×", undefined);
    return;
  }
  for (const chain of [false, true]) {
    const dir = graphDir(chain);
    const ninjas: number[] = [];
    const ours: number[] = [];
    const tether = (): number => timedMs({ file: process.execPath, args: [CLI_ENTRY, "run", "all", "--parallel", "2"], env: { ...d.env, NO_COLOR: "1" }, cwd: dir });
    // The daemon's graph code runs cold the first time (V8 optimises it over a few thousand
    // runs): that graph is timed and reported on its own, and the rounds measure the warm
    // daemon a long-lived one is, as the unary figure does.
    const first = tether();
    // Alternating, so both meet the machine's same moments; ninja starts each round from a clean tree.
    for (let round = 0; round < GRAPH_ROUNDS; round++) {
      timedMs({ file: "ninja", args: ["-C", dir, "-t", "clean"], env: d.env, cwd: dir });
      ninjas.push(timedMs({ file: "ninja", args: ["-j2", "-C", dir, "all"], env: d.env, cwd: dir }));
      ours.push(tether());
    }
    const label = chain ? `chain of ${TASKS} true tasks` : `${TASKS} independent true tasks`;
    const [ninja, warm] = [median(ninjas), median(ours)];
    report(
      `tether run: ${label}, -j2, to exit (median of ${GRAPH_ROUNDS} after one more)`,
      `${Math.round(warm)} ms (the first, on a daemon that had run no graph: ${Math.round(first)} ms, ${(first / ninja).toFixed(2)}×)`,
      `ninja -j2 ${Math.round(ninja)} ms`,
      warm / ninja,
      "≤ 2.0×",
      warm / ninja <= 2,
    );
  }
}

/**
 * A second floor for output throughput, the disk's: BYTES written to a file
 * in `dir` (the daemon's state dir, where its data files are) 4 MiB at a
 * time, past the page cache where the filesystem allows (as the daemon
 * writes large output), one write in flight, then fdatasynced; in MB/s.
 * Every byte of output is stored, so no design gets it in faster than this.
 */
export async function diskFloorMBs(dir: string, bytes: number): Promise<number> {
  const chunk = 4 * 1024 * 1024;
  // Aligned as direct I/O needs, as the daemon's data files use it.
  const memory = new AlignedMemory().reserve(chunk);
  const path = join(dir, "bench-disk-floor");
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_DIRECT, 0o600);
  } catch {
    fd = openSync(path, constants.O_RDWR | constants.O_CREAT, 0o600);
  }
  const start = process.hrtime.bigint();
  try {
    for (let at = 0; at < bytes; at += chunk) await writeAt(fd, memory, 0, chunk, at);
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
    rmSync(path, { force: true });
  }
  return bytes / 1e6 / (Number(process.hrtime.bigint() - start) / 1e9);
}

const writeAt = promisify(write);

/** The 1 GiB output benchmarks (a run's, an exec's) run this many times, alternating with the floor; the medians are compared. */
export const OUTPUT_ROUNDS = 3;

/** How long after the last round the daemon's RSS is read again. */
const SETTLE_MS = 6000;

export async function benchOutput(d: TestDaemon, report: Report): Promise<void> {
  const bytes = 1024 * 1024 * 1024;
  const dir = mkdtempSync(join(tmpdir(), "tether-bench-out-"));
  writeFileSync(join(dir, "tether.yaml"), `tasks:\n  flood: { cmd: ["head", "-c", "${bytes}", "/dev/zero"] }\n`);
  const pid = d.process.pid!;
  const rss = (): number => Number(spawnSync("ps", ["-o", "rss=", "-p", String(pid)], { encoding: "utf8" }).stdout.trim()) * 1024;
  const rssBefore = rss();
  let peakRss = 0;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, rss())), 200);
  const client = d.client(SessionService);
  const floorRounds: number[] = [];
  const diskRounds: number[] = [];
  const ourRounds: number[] = [];
  for (let round = 0; round < OUTPUT_ROUNDS; round++) {
    floorRounds.push((await readInFreshProcess("pipe", bytes)).mbs);
    diskRounds.push(await diskFloorMBs(d.home, bytes));
    // From `tether run -d` (which prints the session's id) to the session closed: the run is recorded finished only once every byte of its output is committed.
    const start = process.hrtime.bigint();
    const started = spawnSync(process.execPath, [CLI_ENTRY, "run", "-d", "flood"], { env: d.env, cwd: dir, encoding: "utf8" });
    if (started.status !== 0) throw new Error(`tether run -d flood exited ${started.status}: ${started.stderr}`);
    const session = started.stdout.trim();
    while ((await client.getSession({ name: `sessions/${session}` })).session!.status === SessionStatus.OPEN) await new Promise((r) => setTimeout(r, 5));
    ourRounds.push(bytes / 1e6 / (Number(process.hrtime.bigint() - start) / 1e9));
  }
  clearInterval(sampler);
  // What the daemon keeps once the output has stopped (it gives freed output memory back after ~2-4 s quiet, see native/reader.c).
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  const rssAfter = rss();
  const [floorMBs, diskMBs, oursMBs] = [median(floorRounds), median(diskRounds), median(ourRounds)];
  const mib = (n: number): number => Math.round(n / 1048576);
  report(
    `run output into the journal: 1 GiB to stdout (median of ${OUTPUT_ROUNDS}, alternating with the floors)`,
    `${Math.round(oursMBs)} MB/s, daemon RSS peak ${mib(peakRss)} MiB (${mib(rssBefore)} before, ${mib(rssAfter)} ${SETTLE_MS / 1000} s after)`,
    `node reading the child's stdout ${Math.round(floorMBs)} MB/s; the disk, 1 GiB written directly ${Math.round(diskMBs)} MB/s (${(oursMBs / diskMBs).toFixed(2)}× of it)`,
    oursMBs / floorMBs,
    "≥ 0.5×",
    oursMBs / floorMBs >= 0.5,
  );
}
