import type { Client } from "@connectrpc/connect";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LogStream, RunStatus, type Session } from "../../gen/tether/v1/session_pb.js";
import { SessionService } from "../../gen/tether/v1/session_service_pb.js";

/** Writes a tether.yaml into a fresh directory and returns its path. */
export function writeTaskFile(yaml: string): string {
  const dir = mkdtempSync(join(tmpdir(), "tether-tasks-"));
  const path = join(dir, "tether.yaml");
  writeFileSync(path, yaml);
  return path;
}

/** Follows a session's events until the daemon says it is quiet, then returns the session. */
export async function waitQuiet(client: Client<typeof SessionService>, id: string): Promise<Session> {
  for await (const _ of client.watchSession({ name: `sessions/${id}`, follow: true })) {
    // Draining the stream: it ends when the session is quiet.
  }
  return (await client.getSession({ name: `sessions/${id}` })).session!;
}

/** A session's output so far, stdout and stderr apart; of one run when `run` is not 0. */
export async function logText(client: Client<typeof SessionService>, id: string, run = 0): Promise<{ stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  for await (const msg of client.readSessionLogs({ name: `sessions/${id}`, run })) {
    for (const c of msg.chunks) {
      if (c.stream === LogStream.STDERR) stderr += Buffer.from(c.data).toString();
      else stdout += Buffer.from(c.data).toString();
    }
  }
  return { stdout, stderr };
}

/** The status of a session's run (the first by default). */
export async function runStatus(client: Client<typeof SessionService>, id: string, run = 1): Promise<RunStatus> {
  return (await client.listRuns({ parent: `sessions/${id}` })).runs[run - 1]?.status ?? RunStatus.UNSPECIFIED;
}

/** Polls until `check` returns a value, or fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** True while the process exists and is not a zombie (where no init reaps orphans, killed ones linger as zombies). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}
