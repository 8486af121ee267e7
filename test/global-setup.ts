import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Every temp directory of a test run (daemon homes with their journals,
 * sockets, task files) goes under one directory, removed when the run
 * ends: a run writes hundreds of MB of process output into its daemons'
 * homes. The workers inherit TMPDIR, which os.tmpdir() follows.
 *
 * A daemon a test left running (its home under that directory) is killed
 * at the end and named on stderr: it would run on, its home deleted, into
 * the next run and the benchmarks.
 */
export default function setup(): () => void {
  const root = mkdtempSync(join(tmpdir(), "tether-tests-"));
  process.env["TMPDIR"] = root;
  return () => {
    const left = processesWithHomeUnder(root);
    for (const pid of left) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // Gone meanwhile.
      }
    }
    if (left.length > 0) process.stderr.write(`tether tests: ${left.length} daemon(s) left running by a test were killed (pids ${left.join(", ")}): a test must stop every daemon it starts\n`);
    rmSync(root, { recursive: true, force: true });
  };
}

/** The pids of processes whose TETHER_HOME is under `root`: daemons of this run (their runs and execs are their children, ended with them). */
function processesWithHomeUnder(root: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      const environ = readFileSync(`/proc/${pid}/environ`, "latin1").split("\0");
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, "latin1");
      if (cmdline.includes("daemon.mjs") && environ.some((v) => v.startsWith(`TETHER_HOME=${root}/`))) pids.push(pid);
    } catch {
      // Ended, or not ours to read.
    }
  }
  return pids;
}
