import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** The cgroup v1 pids hierarchy, where root may make a group of its own (this machine's; cgroup v2 machines skip). */
const PIDS_ROOT = "/sys/fs/cgroup/pids";

/** Whether a process can be held to the tasks it has (root, a writable pids cgroup): the tests that need it skip without. */
export const CAN_LIMIT_PROCESSES = process.getuid?.() === 0 && canMakeGroup();

function canMakeGroup(): boolean {
  if (!existsSync(join(PIDS_ROOT, "cgroup.procs"))) return false;
  const probe = join(PIDS_ROOT, `tether-probe-${process.pid}`);
  try {
    mkdirSync(probe);
    rmdirSync(probe);
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs `test` with process `pid` in a pids cgroup whose limit is the tasks
 * (threads) it has: it can create no process or thread until `test` ends, as
 * under a full ulimit -u or systemd's TasksMax=. Then the limit goes and
 * the process goes back to the root group.
 */
export async function withoutNewProcesses(pid: number, test: () => Promise<void>): Promise<void> {
  const group = join(PIDS_ROOT, `tether-test-${process.pid}-${pid}`);
  mkdirSync(group);
  try {
    writeFileSync(join(group, "cgroup.procs"), String(pid));
    writeFileSync(join(group, "pids.max"), readFileSync(join(group, "pids.current"), "utf8").trim());
    await test();
  } finally {
    writeFileSync(join(group, "pids.max"), "max");
    try {
      writeFileSync(join(PIDS_ROOT, "cgroup.procs"), String(pid));
    } catch {
      // The process has exited.
    }
    rmdirSync(group);
  }
}
