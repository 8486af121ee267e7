import { readdirSync, readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";

/** What a process and everything it started use now: processes, CPU over the sample, resident memory. */
export interface Usage {
  readonly processes: number;
  /** Percent of one core over the sample (200: two cores' worth). */
  readonly cpuPercent: number;
  readonly rssBytes: number;
}

interface ProcStat {
  readonly ppid: number;
  /** utime + stime, in clock ticks. */
  readonly ticks: number;
  readonly rssPages: number;
}

/** The kernel's clock ticks per second for /proc's times (USER_HZ: 100 on every Linux Node runs on). */
const TICKS_PER_SECOND = 100;

/**
 * What each of `roots` (pids: an exec's, a terminal's program, a run's) and
 * its descendants use, read from /proc as `docker stats` and `top` read
 * it: CPU over a sample of `sampleMs`, memory at its end. A root that has
 * ended is absent. A descendant that left its tree (a daemon it forked
 * off, reparented to init) no longer counts.
 */
export async function sampleUsage(roots: readonly number[], sampleMs: number): Promise<Map<number, Usage>> {
  const before = readProcesses();
  const started = performance.now();
  await sleep(sampleMs);
  const after = readProcesses();
  const seconds = (performance.now() - started) / 1000;
  const pageBytes = pageSize(after);
  const children = new Map<number, number[]>();
  for (const [pid, stat] of after) children.set(stat.ppid, [...(children.get(stat.ppid) ?? []), pid]);
  const usage = new Map<number, Usage>();
  for (const root of roots) {
    if (!after.has(root)) continue;
    let processes = 0;
    let ticks = 0;
    let rssPages = 0;
    for (const stack = [root]; stack.length > 0; ) {
      const pid = stack.pop()!;
      const stat = after.get(pid)!;
      processes++;
      // A process that started during the sample counts from zero.
      ticks += stat.ticks - (before.get(pid)?.ticks ?? 0);
      rssPages += stat.rssPages;
      stack.push(...(children.get(pid) ?? []));
    }
    usage.set(root, { processes, cpuPercent: (100 * ticks) / TICKS_PER_SECOND / seconds, rssBytes: rssPages * pageBytes });
  }
  return usage;
}

/** Every process's /proc/PID/stat that could be read (a process may end between the listing and the read). */
function readProcesses(): Map<number, ProcStat> {
  const stats = new Map<number, ProcStat>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let text: string;
    try {
      text = readFileSync(`/proc/${entry}/stat`, "latin1");
    } catch {
      continue;
    }
    // The command name is in parentheses and may hold anything: the fields after its last ")".
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    stats.set(Number(entry), { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]), rssPages: Number(fields[21]) });
  }
  return stats;
}

/** The size of a memory page: this process's resident bytes over its resident pages, as a power of two (4 KiB on x86-64, maybe 16 or 64 KiB on arm64). */
function pageSize(stats: ReadonlyMap<number, ProcStat>): number {
  const own = stats.get(process.pid)?.rssPages ?? 0;
  if (own === 0) return 4096;
  return 2 ** Math.round(Math.log2(process.memoryUsage().rss / own));
}
