/** Stream benchmarks: durable appends through AttachSession and `tether output --lines`, fan-out to 100 attached clients, and send-to-wait latency. */
import Database from "better-sqlite3";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { RunStatus, SessionStatus } from "../gen/tether/v1/session_pb.js";
import { SessionService } from "../gen/tether/v1/session_service_pb.js";
import { StreamService } from "../gen/tether/v1/stream_service_pb.js";
import { createTransport } from "../test/helpers/connect-transport.js";
import { INPUT_BATCH_RECORDS } from "../client/commands/attach.js";
import { GrpcClient } from "../client/grpc-client.js";
import { BATCH_RECORDS } from "../client/commands/output.js";
import { CLI_ENTRY, type TestDaemon } from "../test/helpers/daemon.js";
import { AttachRequests } from "../test/helpers/streams.js";
import type { Report } from "./sessions.js";
import { median } from "./stats.js";

const fmt = (n: number): string => Math.round(n).toLocaleString("en-US");
const seconds = (since: bigint): number => Number(process.hrtime.bigint() - since) / 1e9;

/** Raw better-sqlite3: 100-byte rows, 1000 per transaction, WAL, synchronous=FULL (as the daemon's store). */
function rawSqliteRowsPerSecond(): number {
  const db = new Database(join(mkdtempSync(join(tmpdir(), "tether-bench-")), "raw.db"));
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, data BLOB NOT NULL)");
  const insert = db.prepare("INSERT INTO t (data) VALUES (?)");
  const many = db.transaction((n: number) => {
    for (let i = 0; i < n; i++) insert.run(Buffer.alloc(100, 1));
  });
  const t = process.hrtime.bigint();
  for (let i = 0; i < 200; i++) many(1000);
  const rate = 200_000 / seconds(t);
  db.close();
  return rate;
}

function taskDir(yaml: string): string {
  const dir = mkdtempSync(join(tmpdir(), "tether-bench-streams-"));
  writeFileSync(join(dir, "tether.yaml"), yaml);
  return dir;
}

async function untilClosed(d: TestDaemon, id: string): Promise<void> {
  const client = d.client(SessionService);
  while ((await client.getSession({ name: `sessions/${id}` })).session!.status === SessionStatus.OPEN) await new Promise((r) => setTimeout(r, 10));
}

const ATTACH_INPUTS = 100_000;

/** One round of case 1: ATTACH_INPUTS records into a new session's input stream through one AttachSession, until every one is acknowledged. */
async function attachInputsRate(d: TestDaemon, perMessage: number): Promise<number> {
  const sessions = d.client(SessionService);
  const dir = taskDir("tasks:\n  hold: { streams: { inbox: input }, cmd: 'sleep 600' }\n");
  const { session } = await sessions.startSession({ task: "hold", taskFile: join(dir, "tether.yaml") });
  const requests = new AttachRequests();
  requests.push({ kind: { case: "open", value: { session: session!.name, withoutOutput: true, streams: ["inbox"] } } });
  const t = process.hrtime.bigint();
  for (let i = 1; i <= ATTACH_INPUTS; i += perMessage) {
    const inputs = Array.from({ length: Math.min(perMessage, ATTACH_INPUTS + 1 - i) }, (_, j) => ({ stream: "inbox", data: Buffer.alloc(100, 1), clientRef: BigInt(i + j) }));
    requests.push({ kind: { case: "inputs", value: { inputs } } });
  }
  let accepted = 0;
  let rate = 0;
  const done = new AbortController();
  const client = new GrpcClient(d.socketPath);
  try {
    for await (const message of client.bidiStream(SessionService.method.attachSession, requests, { signal: done.signal })) {
      if (message.kind.case !== "answers") continue;
      for (const { kind } of message.kind.value.answers) {
        if (kind.case === "rejected") throw new Error(kind.value.message);
        accepted++;
      }
      if (accepted === ATTACH_INPUTS) {
        rate = ATTACH_INPUTS / seconds(t);
        done.abort();
      }
    }
  } catch (error) {
    if (!done.signal.aborted) throw error;
  } finally {
    client.close();
  }
  await sessions.cancelSession({ name: session!.name });
  return rate;
}

export async function benchStreams(d: TestDaemon, report: Report): Promise<void> {
  const floor = rawSqliteRowsPerSecond();
  const sessions = d.client(SessionService);

  // 1. Input records through AttachSession, each acknowledged once durable, sent
  //    as tether attach sends piped lines: the lines of one 64 KiB read per message,
  //    through the CLI's own gRPC client (the client shares the machine's two cores).
  //    Median of 3, alternating with the floor, each round a session of its own.
  {
    const perMessage = Math.min(INPUT_BATCH_RECORDS, Math.floor(65536 / 101));
    const rates: number[] = [];
    const floors: number[] = [];
    for (let round = 0; round < 3; round++) {
      floors.push(rawSqliteRowsPerSecond());
      rates.push(await attachInputsRate(d, perMessage));
    }
    const rate = median(rates);
    const roundFloor = median(floors);
    report(
      `input records appended durably through AttachSession (${fmt(ATTACH_INPUTS)} × 100 B, ${perMessage} per message as tether attach sends a 64 KiB read of piped lines; each acknowledged; the CLI's client; median of 3, alternating with the floor)`,
      `${fmt(rate)} records/s`,
      `raw better-sqlite3, 1000 rows/txn ${fmt(roundFloor)} rows/s`,
      rate / roundFloor,
      "≥ 0.3×",
      rate / roundFloor >= 0.3,
    );
  }

  // 1b. The bulk append path as `tether output --lines` drives it: WriteOutput with
  //     BATCH_RECORDS (4096) records per call, one call in flight.
  {
    const dir = taskDir("tasks:\n  hold: { streams: { events: output }, cmd: 'sleep 600' }\n");
    const { session } = await sessions.startSession({ task: "hold", taskFile: join(dir, "tether.yaml") });
    while ((await sessions.listRuns({ parent: session!.name })).runs[0]?.status !== RunStatus.RUNNING) await new Promise((r) => setTimeout(r, 10));
    const streams = d.client(StreamService);
    const total = 200_000;
    const records = Array.from({ length: BATCH_RECORDS }, () => ({ data: Buffer.alloc(100, 1) }));
    const t = process.hrtime.bigint();
    let written = 0;
    for (; written < total; written += BATCH_RECORDS) await streams.writeOutput({ session: session!.name, run: 1, stream: "events", records });
    const rate = written / seconds(t);
    report(`output records appended durably through WriteOutput (bulk path, as tether output --lines batches: ${fmt(BATCH_RECORDS)} × 100 B per call)`, `${fmt(rate)} records/s`, `raw better-sqlite3, 1000 rows/txn ${fmt(floor)} rows/s`, rate / floor, "≥ 0.3×", rate / floor >= 0.3);
    await sessions.cancelSession({ name: session!.name });
  }

  // 2. tether output --lines: one process streaming a million records.
  {
    const total = 1_000_000;
    const dir = taskDir(`tasks:\n  emit: { streams: { events: output }, cmd: 'seq 1 ${total} | tether output events --lines' }\n`);
    const t = process.hrtime.bigint();
    const { session } = await sessions.startSession({ task: "emit", taskFile: join(dir, "tether.yaml") });
    await untilClosed(d, session!.id);
    const rate = total / seconds(t);
    const { session: done } = await sessions.getSession({ name: session!.name });
    const ok = done!.exitCode === 0 && done!.streams.find((s) => s.name === "events")?.nextSequence === BigInt(total + 1);
    report(`tether output --lines: ${fmt(total)} lines piped in, to session closed`, `${fmt(rate)} records/s${ok ? "" : " (INCOMPLETE)"}`, `raw better-sqlite3 ${fmt(floor)} rows/s`, rate / floor, "", undefined);
  }

  // 3. 100 clients attached while the session produces records; one of them stuck.
  //    100k records by default: 100 × 1M deliveries take ~5 minutes more than a bench run
  //    should; `--fanout-records=1000000` runs the full million.
  {
    const total = Number(process.argv.find((a) => a.startsWith("--fanout-records="))?.split("=")[1] ?? 100_000);
    const clients = 100;
    const dir = taskDir(`tasks:\n  emit: { streams: { events: output }, cmd: 'sleep 1; seq 1 ${total} | tether output events --lines' }\n`);
    const { session } = await sessions.startSession({ task: "emit", taskFile: join(dir, "tether.yaml") });
    const stuckRequests = new AttachRequests();
    stuckRequests.push({ kind: { case: "open", value: { session: session!.name, withoutOutput: true } } });
    const stuckClient = createClient(SessionService, createTransport(d.socketPath));
    const stuck = stuckClient.attachSession(stuckRequests)[Symbol.asyncIterator]();
    await stuck.next();
    let peakRss = 0;
    const sampler = setInterval(() => {
      const line = readFileSync(`/proc/${d.process.pid}/status`, "utf8").split("\n").find((l) => l.startsWith("VmRSS"));
      peakRss = Math.max(peakRss, Number(line?.replace(/\D+/g, "")) / 1024);
    }, 100);
    const t = process.hrtime.bigint();
    const readers = Array.from({ length: clients - 1 }, async () => {
      const client = createClient(SessionService, createTransport(d.socketPath));
      const requests = new AttachRequests();
      requests.push({ kind: { case: "open", value: { session: session!.name, withoutOutput: true, streams: ["events"] } } });
      let expected = 1;
      for await (const message of client.attachSession(requests)) {
        if (message.kind.case !== "events") continue;
        for (const event of message.kind.value.events) {
          if (event.kind.case !== "record") continue;
          if (event.kind.value.sequence !== BigInt(expected)) throw new Error(`a reader got record ${event.kind.value.sequence} where ${expected} was next`);
          expected++;
        }
        if (message.kind.value.ended) requests.end();
      }
      return expected - 1;
    });
    const counts = await Promise.all(readers);
    const secs = seconds(t);
    clearInterval(sampler);
    const delivered = counts.reduce((a, b) => a + b, 0);
    const complete = counts.every((c) => c === total);
    report(
      `${clients} clients attached (1 stuck) while the session writes ${fmt(total)} records`,
      `${fmt(delivered / secs)} records/s delivered in all (${complete ? "every reader got every record in order" : "SOME READERS INCOMPLETE"}); daemon RSS peak ${fmt(peakRss)} MB`,
      "",
      undefined,
      "RSS ≤ 256 MB",
      complete && peakRss <= 256,
    );
    stuckRequests.end();
  }

  // 4. From `tether send` returning to the waiting task's `tether wait` printing.
  {
    const dir = taskDir(`tasks:\n  waiter:\n    streams: { q: input }\n    cmd: ["bash", "-c", "while tether wait q > /dev/null; do printf '%s\\\\n' \\"$EPOCHREALTIME\\" >> stamps; done"]\n`);
    const { session } = await sessions.startSession({ task: "waiter", taskFile: join(dir, "tether.yaml") });
    const rounds = 21;
    const latencies: number[] = [];
    const cliStarts: number[] = [];
    for (let i = 0; i < rounds; i++) {
      for (;;) {
        const { runs } = await sessions.listRuns({ parent: session!.name });
        if (runs[0]?.status === RunStatus.WAITING) break;
        await new Promise((r) => setTimeout(r, 5));
      }
      const started = performance.timeOrigin + performance.now();
      const r = spawnSync(process.execPath, [CLI_ENTRY, "send", session!.id, "q", `${i}`], { env: d.env, stdio: "ignore" });
      const returned = performance.timeOrigin + performance.now();
      if (r.status !== 0) throw new Error("tether send failed");
      cliStarts.push(returned - started);
      let stamp: number | undefined;
      while (stamp === undefined) {
        const lines = (() => {
          try {
            return readFileSync(join(dir, "stamps"), "utf8").trim().split("\n");
          } catch {
            return [];
          }
        })();
        if (lines.length > i) stamp = Number(lines[i]) * 1000;
        else await new Promise((r2) => setTimeout(r2, 1));
      }
      latencies.push(stamp - returned);
    }
    const [p50, cli] = [median(latencies), median(cliStarts)];
    report(`tether send returning → the waiting task's tether wait printing (p50 of ${rounds})`, `${p50.toFixed(1)} ms${p50 < 0 ? " (the wait printed before the tether send process had exited)" : ""}`, `tether send itself takes ${cli.toFixed(0)} ms (CLI start + call)`, undefined, "≤ 50 ms", p50 <= 50);
    await sessions.cancelSession({ name: session!.name });
  }
}
