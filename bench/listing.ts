/** `tether ls` with 10,000 sessions in history against 10: listing is paginated, so history must not slow it. */
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SessionService } from "../gen/tether/v1/session_service_pb.js";
import { CLI_ENTRY, startDaemon } from "../test/helpers/daemon.js";
import type { Report } from "./sessions.js";
import { median } from "./stats.js";


/** `tether ls` wall time, median of 9, and ListSessions (one page of 50, as `tether ls` asks) p50 of 200 calls, in ms. */
async function listTimes(d: Awaited<ReturnType<typeof startDaemon>>): Promise<{ cli: number; rpc: number }> {
  const cli: number[] = [];
  for (let i = 0; i < 9; i++) {
    const t = process.hrtime.bigint();
    const r = spawnSync(process.execPath, [CLI_ENTRY, "ls"], { env: { ...d.env, NO_COLOR: "1" }, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`tether ls exited ${r.status}: ${r.stderr}`);
    cli.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  const client = d.client(SessionService);
  const rpc: number[] = [];
  for (let i = 0; i < 200; i++) {
    const t = process.hrtime.bigint();
    await client.listSessions({ pageSize: 50 });
    rpc.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return { cli: median(cli), rpc: median(rpc) };
}

export async function benchListing(report: Report): Promise<void> {
  const d = await startDaemon();
  try {
    const dir = mkdtempSync(join(tmpdir(), "tether-bench-ls-"));
    // A task whose condition is false: each session is recorded (skipped) without starting a process.
    writeFileSync(join(dir, "tether.yaml"), 'tasks:\n  noop: { cmd: ["true"], condition: "false" }\n');
    const sessions = d.client(SessionService);
    const start = async (count: number): Promise<void> => {
      for (let i = 0; i < count; i += 50) {
        await Promise.all(Array.from({ length: Math.min(50, count - i) }, () => sessions.startSession({ task: "noop", taskFile: join(dir, "tether.yaml") })));
      }
    };
    await start(10);
    const few = await listTimes(d);
    await start(9_990);
    const many = await listTimes(d);
    const ratio = many.cli / few.cli;
    report(
      "tether ls with 10,000 sessions in history vs with 10",
      `${Math.round(many.cli)} ms (ListSessions p50 ${many.rpc.toFixed(2)} ms)`,
      `with 10: ${Math.round(few.cli)} ms (ListSessions p50 ${few.rpc.toFixed(2)} ms)`,
      ratio,
      "≤ 1.2×",
      ratio <= 1.2,
    );
  } finally {
    await d.kill();
  }
}
