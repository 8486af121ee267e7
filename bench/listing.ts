/** `tether ls` with 10,000 sessions in history against 10: listing is paginated, so history must not slow it. */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SessionService } from "../gen/tether/v1/session_service_pb.js";
import { CLI_ENTRY, startDaemon, type TestDaemon } from "../test/helpers/daemon.js";
import type { Report } from "./sessions.js";
import { median, medianMsInTurn } from "./stats.js";

const LS_RUNS = 15;
const RPC_CALLS = 200;

/**
 * `tether ls` wall time (median of LS_RUNS, after two warm-up runs) and ListSessions (one page of 50,
 * as `tether ls` asks) p50 of RPC_CALLS calls, in ms, for two daemons measured
 * in turn, so both meet the machine's same moments (a CLI's start swings by
 * tens of ms here).
 */
async function listTimes(daemons: readonly TestDaemon[]): Promise<{ cli: number; rpc: number }[]> {
  const cli = medianMsInTurn(daemons.map((d) => ({ file: process.execPath, args: [CLI_ENTRY, "ls"], env: { ...d.env, NO_COLOR: "1" } })), LS_RUNS);
  const rpc = daemons.map((): number[] => []);
  const clients = daemons.map((d) => d.client(SessionService));
  for (let i = 0; i < RPC_CALLS; i++) {
    for (const [k, client] of clients.entries()) {
      const t = process.hrtime.bigint();
      await client.listSessions({ pageSize: 50 });
      rpc[k]!.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
  }
  return daemons.map((_, k) => ({ cli: cli[k]!, rpc: median(rpc[k]!) }));
}

export async function benchListing(report: Report): Promise<void> {
  const small = await startDaemon();
  const large = await startDaemon();
  try {
    const dir = mkdtempSync(join(tmpdir(), "tether-bench-ls-"));
    // A task whose condition is false: each session is recorded (skipped) without starting a process.
    writeFileSync(join(dir, "tether.yaml"), 'tasks:\n  noop: { cmd: ["true"], condition: "false" }\n');
    const start = async (d: TestDaemon, count: number): Promise<void> => {
      const sessions = d.client(SessionService);
      for (let i = 0; i < count; i += 50) {
        await Promise.all(Array.from({ length: Math.min(50, count - i) }, () => sessions.startSession({ task: "noop", taskFile: join(dir, "tether.yaml") })));
      }
    };
    await start(small, 10);
    await start(large, 10_000);
    const [few, many] = await listTimes([small, large]);
    const ratio = many!.cli / few!.cli;
    report(
      `tether ls with 10,000 sessions in history vs with 10 (two daemons, measured in turn; median of ${LS_RUNS})`,
      `${Math.round(many!.cli)} ms (ListSessions p50 ${many!.rpc.toFixed(2)} ms)`,
      `with 10: ${Math.round(few!.cli)} ms (ListSessions p50 ${few!.rpc.toFixed(2)} ms)`,
      ratio,
      "≤ 1.2×",
      ratio <= 1.2,
    );
  } finally {
    await small.kill();
    await large.kill();
  }
}
