/** Run-start latency with the daemon grown large against a small daemon: Node copies the parent to start a child. */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SessionStatus } from "../gen/tether/v1/session_pb.js";
import { SessionService } from "../gen/tether/v1/session_service_pb.js";
import { ROOT, startDaemon } from "../test/helpers/daemon.js";
import type { Report } from "./sessions.js";
import { median } from "./stats.js";

/** About the largest RSS the benchmarks below drive the daemon to (100 attached clients). */
const BALLAST_MB = 512;
const SAMPLES = 31;

/** A daemon to time run starts on: one sample is StartSession to the session closed, for a task running `true`, in ms. */
async function runStarter(extraEnv: NodeJS.ProcessEnv): Promise<{ sample(): Promise<number>; rssMb(): number; kill(): Promise<void> }> {
  const d = await startDaemon(undefined, extraEnv);
  const dir = mkdtempSync(join(tmpdir(), "tether-bench-spawn-"));
  writeFileSync(join(dir, "tether.yaml"), 'tasks:\n  t: { cmd: ["true"] }\n');
  const sessions = d.client(SessionService);
  return {
    async sample() {
      const t = process.hrtime.bigint();
      const { session } = await sessions.startSession({ task: "t", taskFile: join(dir, "tether.yaml") });
      while ((await sessions.getSession({ name: session!.name })).session!.status === SessionStatus.OPEN) await new Promise((r) => setImmediate(r));
      return Number(process.hrtime.bigint() - t) / 1e6;
    },
    rssMb() {
      const rss = readFileSync(`/proc/${d.process.pid}/status`, "utf8").split("\n").find((l) => l.startsWith("VmRSS"));
      return Number(rss?.replace(/\D+/g, "")) / 1024;
    },
    kill: () => d.kill(),
  };
}

/** The two daemons' samples alternate, so both meet the machine's same moments. */
export async function benchSpawn(report: Report): Promise<void> {
  const small = await runStarter({});
  const large = await runStarter({ NODE_OPTIONS: `--import ${join(ROOT, "bench", "ballast.mjs")}`, TETHER_BENCH_BALLAST_MB: String(BALLAST_MB) });
  try {
    const [smallTimes, largeTimes]: [number[], number[]] = [[], []];
    for (let i = 0; i < SAMPLES; i++) {
      smallTimes.push(await small.sample());
      largeTimes.push(await large.sample());
    }
    const [smallMs, largeMs] = [median(smallTimes), median(largeTimes)];
    const ratio = largeMs / smallMs;
    report(
      `run start to end of \`true\`, daemon at ${Math.round(large.rssMb())} MB RSS (median of ${SAMPLES}, alternating with the small daemon)`,
      `${largeMs.toFixed(1)} ms`,
      `the same daemon at ${Math.round(small.rssMb())} MB RSS: ${smallMs.toFixed(1)} ms`,
      ratio,
      "≤ 1.5×",
      ratio <= 1.5,
    );
  } finally {
    await small.kill();
    await large.kill();
  }
}
