import { Code } from "@connectrpc/connect";
import type { Events } from "../events.js";
import { TetherError, invalidArgument } from "../errors.js";
import type { Journals } from "../journal/journals.js";
import { log } from "../log.js";
import { setLongTimeout } from "../long-timeout.js";
import { exitCodeOf, signalGroup, type ProcessEnd } from "../process/child-process.js";
import { processStartTicks } from "../process/process-identity.js";
import type { OutputWriter } from "../process/output-writer.js";
import type { Spawner } from "../process/spawner.js";
import { commandProblem, type CommandProblem } from "../process/command-problem.js";
import { sandboxArgv, type SandboxHost } from "./sandbox.js";
import type { ExecStatus, WorkspaceRecord } from "./types.js";
import { resolveCwd } from "./workspace-paths.js";

const ARGV_MAX_BYTES = 256 * 1024;

/** What every process started in a workspace shares: the daemon's environment and what the sandbox must let through. */
export interface ProcessEnvironment {
  readonly baseEnv: Readonly<Record<string, string | undefined>>;
  readonly sandboxHost: SandboxHost;
  readonly spawner: Spawner;
  /** Where processes' starts and ends are reported (EventService). */
  readonly events: Events;
}

/** A process ready to start in a workspace, or the reason it cannot. */
export interface Launch {
  /** The argv to spawn: the command, wrapped in the workspace's sandbox. */
  readonly argv: string[];
  readonly cwd: string;
  readonly env: Record<string, string | undefined>;
  /** Why the command cannot start (not found, not executable), checked before the start. */
  readonly problem: CommandProblem | undefined;
}

/** The most variables a workspace's env holds, and the longest value (Linux's longest argument or variable, MAX_ARG_STRLEN). */
export const WORKSPACE_ENV_MAX_VARIABLES = 1000;
export const ENV_VALUE_MAX_BYTES = 128 * 1024;

/** Refuses a variable name a process cannot be given (empty, with '=' or NUL), naming `field`. */
export function checkEnvNames(env: Readonly<Record<string, string>>, field: string): void {
  for (const key of Object.keys(env)) {
    if (key === "" || key.includes("=") || key.includes("\0")) throw invalidArgument(field, `environment variable name ${JSON.stringify(key)} is not allowed: no '=' or NUL, not empty`);
  }
}

/**
 * Checks a command for a workspace (argv, env names, cwd inside the root)
 * and prepares its start: the sandbox's argv, the environment (the
 * daemon's, then the workspace's, then `ids` such as TETHER_EXEC, then the
 * caller's).
 */
export function prepareLaunch(ws: WorkspaceRecord, environment: ProcessEnvironment, argv: readonly string[], cwd: string, env: Readonly<Record<string, string>>, ids: Readonly<Record<string, string>>): Launch {
  checkArgv(argv);
  checkEnvNames(env, "env");
  const dir = resolveCwd(ws.root, cwd);
  const fullEnv: Record<string, string | undefined> = { ...environment.baseEnv, ...ws.env, TETHER_WORKSPACE: ws.id, ...ids, ...env };
  return {
    argv: sandboxArgv(ws, environment.sandboxHost, argv, dir),
    cwd: dir,
    env: fullEnv,
    problem: commandProblem(argv[0]!, dir, fullEnv["PATH"] ?? ""),
  };
}

/** Where a process's end is recorded: exec and PTY records alike. */
export interface EndFields {
  status: ExecStatus;
  exitCode: number | undefined;
  signal: string | undefined;
  error: string | undefined;
}

/**
 * Records how a process ended, unless something (the daemon stopping)
 * already said it was lost. `stopped`: why its workspace stopped it (ws
 * stop, ws rm --force), when it did.
 */
export function recordEnd(record: EndFields, end: ProcessEnd, lost?: string, stopped?: string): void {
  if (record.status !== "running") return;
  record.status = end.t === "exited" ? "exited" : end.t === "signalled" ? "signalled" : "failed-to-start";
  record.exitCode = exitCodeOf(end);
  record.signal = end.t === "signalled" ? end.signal : undefined;
  // A process that ran keeps why tether stopped it and what of its output could not be stored (a full disk), for whoever reads it later.
  const said = [stopped === undefined ? undefined : `stopped: ${stopped}`, lost].filter((part) => part !== undefined);
  record.error = end.t === "failed-to-start" ? end.message : said.length > 0 ? said.join("; ") : undefined;
}

/**
 * Ends a process as a user asking it to stop would: `signal` (SIGTERM, a
 * terminal's SIGHUP), SIGKILL once `graceMs` has passed; resolves with its
 * end.
 */
export async function terminate<T>(process: { signal(signal: NodeJS.Signals): unknown }, ended: Promise<T>, signal: NodeJS.Signals, graceMs: number): Promise<T> {
  process.signal(signal);
  const timer = setLongTimeout(() => process.signal("SIGKILL"), graceMs);
  try {
    return await ended;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * What a client of an exec or a PTY is told when part of its output could
 * not be stored (a full disk), or undefined when none was lost: `what` names
 * the process ("exec e-…"), `then` what the user may do next.
 */
export function outputLostError(what: string, writer: OutputWriter, then: string): TetherError | undefined {
  const lost = writer.lost();
  const words = writer.describeLost();
  if (lost === undefined || words === undefined) return undefined;
  return new TetherError(Code.Unavailable, "STORE_FAILED", `${what}: ${words} and are lost; ${then}`, { lost_bytes: String(lost.bytes) });
}

/** A stored exec or PTY as recovery sees it. */
interface LeftRunning extends EndFields {
  readonly id: string;
  readonly pid: number | undefined;
  readonly startTicks: number | undefined;
  endedAt: number | undefined;
}

/**
 * At daemon start: processes the last daemon left running are recorded lost
 * with the reason, and a leftover process group is killed when its pid still
 * names the same process (same start time); `report` says each to the
 * daemon's events.
 */
export function recordLeftRunningLost<T extends LeftRunning>(rows: readonly T[], save: (row: T) => void, what: string, report?: (row: T) => void): void {
  const reason = `the daemon was not running (it stopped or crashed) while this ${what} was live`;
  for (const row of rows) {
    if (row.pid !== undefined && row.startTicks !== undefined && processStartTicks(row.pid) === row.startTicks) signalGroup(row.pid, "SIGKILL");
    const lost = { ...row, status: "lost", error: reason, endedAt: Date.now() };
    save(lost);
    report?.(lost);
    log(`${what} ${row.id}: was live when the daemon stopped; recorded it lost`);
  }
}

/** At daemon stop: live processes are recorded lost with the reason and killed; resolves once each end is recorded. */
export async function stopAllLost(live: readonly { readonly record: EndFields; readonly process: { signal(s: NodeJS.Signals): boolean }; readonly ended: Promise<unknown> }[], reason: string): Promise<void> {
  for (const { record, process } of live) {
    record.status = "lost";
    record.error = reason;
    process.signal("SIGKILL");
  }
  await Promise.allSettled(live.map((l) => l.ended));
}

function checkArgv(argv: readonly string[]): void {
  if (argv.length === 0 || argv[0] === "") throw invalidArgument("argv", "name the command to run: argv must not be empty");
  let bytes = 0;
  for (const arg of argv) {
    if (arg.includes("\0")) throw invalidArgument("argv", "an argument contains a NUL byte, which no command can receive");
    bytes += Buffer.byteLength(arg) + 1;
  }
  if (bytes > ARGV_MAX_BYTES) throw invalidArgument("argv", `the command line is longer than ${ARGV_MAX_BYTES} bytes: pass data on stdin or in a file`);
}

/**
 * Resolves once everything a process wrote is committed and on disk: its
 * end, recorded next in a fsynced commit of its own table, must not be
 * durable before the output it follows.
 */
export async function outputStored(writer: OutputWriter, journals: Journals, id: string): Promise<void> {
  await writer.settled();
  const lost = writer.describeLost();
  if (lost !== undefined) log(`${id}: ${lost}`);
  await journals.dataSynced().catch((error: unknown) => log(`${id}: output not synced: ${(error as Error).message}`));
}
