/** The order statistics the benchmarks report, and wall times of commands. */
import { spawnSync } from "node:child_process";

/** The value at percentile `p` (0-100) of an ascending array. */
export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** The median of any array (it is not changed). */
export function median(values: readonly number[]): number {
  return percentile([...values].sort((a, b) => a - b), 50);
}

/** A command to time: its file, arguments, environment and, when not ours, working directory. */
export interface Command {
  readonly file: string;
  readonly args: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  readonly cwd?: string;
}

/** One run of `command` to its exit, in ms; fails unless it exits 0. */
export function timedMs(command: Command): number {
  const t = process.hrtime.bigint();
  const r = spawnSync(command.file, command.args, { cwd: command.cwd, env: command.env, stdio: "ignore" });
  if (r.status !== 0) throw new Error(`${command.file} ${command.args.join(" ")} exited ${r.status}`);
  return Number(process.hrtime.bigint() - t) / 1e6;
}

/**
 * Each command's median wall time (ms) over `runs`, after two warm-up runs,
 * the commands run in turn so each meets the machine's same moments (a
 * process start swings by tens of ms here from one second to the next).
 */
export function medianMsInTurn<const C extends readonly Command[]>(commands: C, runs: number): { [K in keyof C]: number } {
  const times = commands.map((): number[] => []);
  for (let i = 0; i < runs + 2; i++) {
    commands.forEach((command, k) => {
      const ms = timedMs(command);
      if (i >= 2) times[k]!.push(ms);
    });
  }
  return times.map(median) as { [K in keyof C]: number };
}
