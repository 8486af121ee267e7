/** Exec benchmarks: output throughput against a raw pipe, start-to-exit against the CLI floor, and 200 live execs. */
import Database from "better-sqlite3";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ExecService } from "../gen/tether/v1/exec_service_pb.js";
import { WorkspaceService } from "../gen/tether/v1/workspace_service_pb.js";
import { CLI_ENTRY, ROOT, type TestDaemon } from "../test/helpers/daemon.js";
import { readInFreshProcess } from "./readers.js";
import { diskFloorMBs, OUTPUT_ROUNDS, type Report } from "./sessions.js";
import { median, medianMsInTurn, timedMs, type Command } from "./stats.js";

const fmt = (n: number, digits = 0): string => n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });


function rssMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith("VmRSS"));
  return Number(line?.replace(/\D+/g, "")) / 1024;
}

/**
 * The storage floor: raw better-sqlite3 inserting BYTES as 64 KiB blobs in
 * 8 MiB transactions, WAL with synchronous=FULL as the daemon runs it, then
 * checkpointed: what any design that keeps every byte in SQLite can reach.
 */
function sqliteFloorMBs(bytes: number): number {
  const db = new Database(join(mkdtempSync(join(tmpdir(), "tether-bench-")), "raw.db"));
  db.pragma("locking_mode = EXCLUSIVE");
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  db.exec("CREATE TABLE r (key INTEGER PRIMARY KEY, offset INTEGER NOT NULL, created_at INTEGER NOT NULL, meta TEXT, data BLOB NOT NULL)");
  const insert = db.prepare("INSERT INTO r VALUES (?, ?, ?, ?, ?)");
  const chunk = Buffer.alloc(64 * 1024);
  const perTransaction = 128;
  let key = 0;
  const commit = db.transaction(() => {
    for (let i = 0; i < perTransaction; i++, key++) insert.run(key, key * chunk.byteLength, Date.now(), '{"s":"1"}', chunk);
  });
  const t = process.hrtime.bigint();
  for (let written = 0; written < bytes; written += perTransaction * chunk.byteLength) commit();
  db.pragma("wal_checkpoint(TRUNCATE)");
  const seconds = Number(process.hrtime.bigint() - t) / 1e9;
  db.close();
  return bytes / 1e6 / seconds;
}

export async function benchExecs(d: TestDaemon, report: Report): Promise<void> {
  await d.client(WorkspaceService).createWorkspace({ displayName: "bench" });
  const execs = d.client(ExecService);

  const bytes = 1024 * 1024 * 1024;
  const storeMBs = sqliteFloorMBs(bytes);
  // Alternating rounds, medians of each (as for the PTY and the graphs).
  const floorRounds: number[] = [];
  const diskRounds: number[] = [];
  const ourRounds: number[] = [];
  let durable = true;
  for (let round = 0; round < OUTPUT_ROUNDS; round++) {
    floorRounds.push((await readInFreshProcess("pipe", bytes)).mbs);
    diskRounds.push(await diskFloorMBs(d.home, bytes));
    const ms = timedMs({ file: process.execPath, args: [CLI_ENTRY, "exec", "bench", "--", "head", "-c", String(bytes), "/dev/zero"], env: d.env });
    ourRounds.push(bytes / 1e6 / (ms / 1000));
    const [last] = (await execs.listExecs({ workspace: "bench", pageSize: 1 })).execs;
    durable &&= last !== undefined && Number(last.stdoutBytes) === bytes;
  }
  const [floorMBs, diskMBs, oursMBs] = [median(floorRounds), median(diskRounds), median(ourRounds)];
  report(
    `tether exec ws -- head -c 1G /dev/zero > /dev/null (median of ${OUTPUT_ROUNDS}, alternating with the floors)`,
    `${fmt(oursMBs)} MB/s (${durable ? "all 1 GiB stored, reattachable, every round" : "NOT all stored"})`,
    `node reading the child's stdout ${fmt(floorMBs)} MB/s; the disk, 1 GiB written directly ${fmt(diskMBs)} MB/s (${(oursMBs / diskMBs).toFixed(2)}× of it); raw SQLite storing 1 GiB ${fmt(storeMBs)} MB/s (${(oursMBs / storeMBs).toFixed(2)}× of it)`,
    oursMBs / floorMBs,
    "≥ 0.5×",
    durable && oursMBs / floorMBs >= 0.5,
  );

  const runs = 15;
  const node = (...args: string[]): Command => ({ file: process.execPath, args, env: d.env });
  const [node0, cliFloor, spawnTrue, ours] = medianMsInTurn(
    [node("-e", "0"), node(join(ROOT, "bench", "floors", "http2-one-call.mjs"), d.socketPath), { file: "true", args: [], env: d.env }, node(CLI_ENTRY, "exec", "bench", "--", "true")],
    runs,
  );
  const floor = cliFloor + spawnTrue;
  report(
    `tether exec ws -- true, wall time (median of ${runs}, in turn with the floors)`,
    `${fmt(ours, 1)} ms`,
    `CLI round-trip floor ${fmt(cliFloor, 1)} ms + spawn of true ${fmt(spawnTrue, 1)} ms; node -e 0 ${fmt(node0, 1)} ms`,
    ours / floor,
    "≤ 1.3×",
    ours / floor <= 1.3,
  );

  const before = rssMb(d.process.pid!);
  for (let i = 0; i < 200; i++) {
    const r = spawnSync(process.execPath, [CLI_ENTRY, "exec", "bench", "-d", "--", "sleep", "600"], { env: d.env, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`exec -d failed: ${r.stderr}`);
  }
  const live = (await d.client(WorkspaceService).getWorkspace({ workspace: "bench" })).workspace!.liveExecs;
  const after = rssMb(d.process.pid!);
  const [show, status] = medianMsInTurn([node(CLI_ENTRY, "ws", "show", "bench"), node(CLI_ENTRY, "daemon", "status")], runs);
  report(
    `200 detached execs live in one workspace (${live} live)`,
    `daemon RSS ${fmt(after)} MB (${fmt(before)} MB just before they started); ws show ${fmt(show, 1)} ms`,
    `tether daemon status ${fmt(status, 1)} ms`,
    show / status,
    "",
    undefined,
  );
  await d.client(WorkspaceService).stopWorkspace({ workspace: "bench", grace: { seconds: 1n } });
}
