/**
 * One measurement in a process of its own, started for it (bench/fresh-child.ts
 * is that process), as a `tether` command or a program of the floor's would
 * be: readers.ts says why the benchmark's own process is no place to measure in.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { ROOT } from "../test/helpers/daemon.js";

/** What measurement `name` (fresh-child.ts's MEASURES) gives for `args`, parsed from the JSON its process prints. */
export function inFreshProcess(name: string, ...args: (string | number)[]): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "bench", "fresh-child.ts"), name, ...args.map(String)], { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (text: string) => (out += text));
    child.on("close", (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`bench measurement ${name} exited ${code}`))));
  });
}
