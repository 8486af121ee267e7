import { readFileSync } from "node:fs";
import { parseEnv, type ParseArgsConfig } from "node:util";
import { parseSize } from "../common/sizes.js";
import { CliError } from "./cli-error.js";

const UNIT_SECONDS: Readonly<Record<string, number>> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 };

/** "30s", "10m", "1h30m" (or bare seconds) as a protobuf Duration init. */
export function parseDurationFlag(flag: string, value: string): { seconds: bigint; nanos: number } {
  const parts = [...value.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)];
  let seconds: number;
  if (/^\d+(?:\.\d+)?$/.test(value)) seconds = Number(value);
  else if (parts.length > 0 && parts.map((p) => p[0]).join("") === value) seconds = parts.reduce((sum, p) => sum + Number(p[1]) * UNIT_SECONDS[p[2]!]!, 0);
  else throw new CliError(`${flag} takes a duration such as 30s, 10m or 1h30m, got ${JSON.stringify(value)}`, 2);
  const whole = Math.floor(seconds);
  return { seconds: BigInt(whole), nanos: Math.round((seconds - whole) * 1e9) };
}

/** A duration flag's value in milliseconds (parseDurationFlag's). */
export function durationFlagMs(flag: string, value: string): number {
  const { seconds, nanos } = parseDurationFlag(flag, value);
  return Number(seconds) * 1000 + Math.round(nanos / 1e6);
}

/**
 * `--older-than 7d` of the removals (rm --ended, exec rm --ended, pty rm
 * --closed): the time, in milliseconds since the epoch, that what is
 * removed ended at or before; now when not given.
 */
export function endedBeforeFlag(value: string | undefined, now = Date.now()): number {
  return value === undefined ? now : now - Number(parseDurationFlag("--older-than", value).seconds) * 1000;
}

/** Repeated NAME=VALUE flags (--input, --env, --label) as a record. */
export function parsePairs(flag: string, pairs: readonly string[]): Record<string, string> {
  const result: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new CliError(`${flag} takes NAME=VALUE, got ${JSON.stringify(pair)}`, 2);
    result[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return result;
}

/**
 * Repeated `--env` flags of exec and pty: NAME=VALUE, or NAME alone for the
 * value NAME has in this environment (left out where it has none), as
 * `docker exec -e` takes them.
 */
export function parseEnvFlags(pairs: readonly string[], env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const result: Record<string, string> = {};
  for (const pair of pairs) {
    if (pair.includes("=")) Object.assign(result, parsePairs("--env", [pair]));
    else if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(pair)) throw new CliError(`--env takes NAME=VALUE, or a NAME whose value you have, got ${JSON.stringify(pair)}`, 2);
    else if (env[pair] !== undefined) result[pair] = env[pair];
  }
  return result;
}

/**
 * The flags that give a process its environment (exec, pty): --env/-e, and
 * --dotenv for docker run's --env-file, which Node 20 takes for its own
 * wherever it is on the command line (it reads the file into this CLI's own
 * environment, or exits 9 when there is none: nodejs/node#54232).
 */
export const ENV_FLAGS = {
  env: { type: "string", short: "e", multiple: true, default: [] as string[] },
  dotenv: { type: "string", multiple: true, default: [] as string[] },
  "inherit-env": { type: "boolean", short: "E", default: false },
} satisfies NonNullable<ParseArgsConfig["options"]>;

/**
 * Variables -E does not carry from the shell: tether's own, which name the
 * run, exec or terminal a command is in (an exec started from a run is not
 * that run), and the shell's bookkeeping of itself, which the command's own
 * shell sets anew (its directory is the exec's cwd).
 */
const NOT_INHERITED = /^(TETHER_.*|PWD|OLDPWD|SHLVL|_)$/;

/**
 * The environment ENV_FLAGS give: with -E, this shell's (as nohup and
 * pueue add give a command the environment it was started from: a venv's or
 * nvm's PATH), then each --dotenv file's variables (dotenv's KEY=VALUE
 * lines, as Node's util.parseEnv reads them; read here, as docker run
 * --env-file reads them on the client), a later file's over an earlier
 * one's, then --env's over them all.
 */
export function envFromFlags(values: { readonly env: readonly string[]; readonly dotenv: readonly string[]; readonly "inherit-env": boolean }, shell: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = {};
  if (values["inherit-env"]) for (const [name, value] of Object.entries(shell)) if (value !== undefined && !NOT_INHERITED.test(name)) env[name] = value;
  for (const file of values.dotenv) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (error) {
      throw new CliError(`cannot read --dotenv ${file}: ${(error as Error).message}`, 2);
    }
    Object.assign(env, parseEnv(text));
  }
  return Object.assign(env, parseEnvFlags(values.env));
}

/** The largest value of a uint32 field (a run number, a count of tasks at once). */
export const UINT32_MAX = 0xffff_ffff;

/**
 * A flag's whole number: digits only, at most `max` (by default the largest
 * an offset or a sequence can be here, 2^53 - 1), else a usage error saying
 * what the flag takes. One past a field's range otherwise reached protobuf's
 * encoder, which refused it in its own words.
 */
export function wholeNumberFlag(flag: string, value: string, takes: string, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^\d+$/.test(value) || Number(value) > max) throw new CliError(`${flag} takes ${takes}, got ${JSON.stringify(value)}`, 2);
  return Number(value);
}

/** A flag's whole number, negative ones too, within int32 (--priority -5). */
export function integerFlag(flag: string, value: string): number {
  const n = Number(value);
  if (!/^-?\d+$/.test(value) || n < -(2 ** 31) || n >= 2 ** 31) throw new CliError(`${flag} takes a whole number, negative too (-5, 0, 10), got ${JSON.stringify(value)}`, 2);
  return n;
}

/**
 * `--tail N` (instead of `--from`): how many of the last lines or records
 * to start at, or undefined when not given. Both given is a usage error, as
 * the daemon would refuse them.
 */
export function parseTailFlag(tail: string | undefined, fromGiven: boolean, unit: "lines" | "records"): number | undefined {
  if (tail === undefined) return undefined;
  const count = wholeNumberFlag("--tail", tail, `a number of ${unit} (0: only new ones)`, UINT32_MAX);
  if (fromGiven) throw new CliError(`--tail and --from cannot be used together: start at the last ${unit} or at --from`, 2);
  return count;
}

/**
 * `--since` (instead of `--from` and `--tail`): a time as `docker logs
 * --since` takes one, a duration back from now (`10m`, `1h30m`) or a date
 * and time (`2026-12-07T09:30:00Z`; without a zone, local time), in
 * milliseconds since the epoch; undefined when not given.
 */
export function parseSinceFlag(since: string | undefined, otherStartGiven: boolean, now = Date.now()): number | undefined {
  if (since === undefined) return undefined;
  if (otherStartGiven) throw new CliError("--since cannot be used with --from or --tail: start at a time, an offset or the last lines, one of them", 2);
  if (/^\d{4}-\d{2}-\d{2}/.test(since)) {
    const at = Date.parse(since);
    if (Number.isNaN(at)) throw new CliError(`--since takes a duration back from now (10m, 1h30m) or a date and time (2026-12-07T09:30:00Z), got ${JSON.stringify(since)}`, 2);
    return at;
  }
  return now - durationFlagMs("--since", since);
}

/** What --after says to start after (of exec, of run): each value's refs, several given as `--after a --after b` or `a,b`. */
export function afterRefs(values: readonly string[]): string[] {
  return values.flatMap((refs) => refs.split(",")).filter((ref) => ref !== "");
}

/**
 * When --delay or --at (of exec, of run) says it starts: a duration from now (--delay
 * 10m, 1h30m), or (--at) a time of day (03:00, 14:30:15: the next one to
 * come, in local time) or a date and time (2026-12-08T03:00, local unless it
 * ends with Z or an offset). Undefined when neither is given.
 */
export function parseStartAtFlag(delay: string | undefined, at: string | undefined, now = Date.now()): number | undefined {
  if (delay !== undefined && at !== undefined) throw new CliError("--delay and --at both say when it starts: give one of them", 2);
  if (delay !== undefined) {
    return now + durationFlagMs("--delay", delay);
  }
  if (at === undefined) return undefined;
  const clock = /^(\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(at);
  if (clock !== null && Number(clock[1]) < 24 && Number(clock[2]) < 60 && Number(clock[3] ?? 0) < 60) {
    const next = new Date(now);
    next.setHours(Number(clock[1]), Number(clock[2]), Number(clock[3] ?? 0), 0);
    if (next.getTime() <= now) next.setDate(next.getDate() + 1);
    return next.getTime();
  }
  const dated = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/.test(at) ? Date.parse(at) : NaN;
  if (!Number.isNaN(dated)) return dated;
  throw new CliError(`--at takes a time of day (03:00, 14:30:15: the next one to come) or a date and time (2026-12-08T03:00), got ${JSON.stringify(at)}`, 2);
}

/** A size flag's bytes: `100M`, `1G`, `512k` (binary units, a `B` or `iB` after them as you like), or bare bytes. */
export function parseSizeFlag(flag: string, value: string): number {
  const bytes = parseSize(value);
  if (bytes === undefined) throw new CliError(`${flag} takes a size such as 100M, 1G or 512k, got ${JSON.stringify(value)}`, 2);
  return bytes;
}

/** The flags `tether run` and `tether rerun` share: inputs, -d or --wait [--timeout], and an external id. */
export const START_FLAGS = {
  input: { type: "string", short: "i", multiple: true, default: [] as string[] },
  detach: { type: "boolean", short: "d", default: false },
  wait: { type: "boolean", default: false },
  timeout: { type: "string" },
  "external-id": { type: "string", default: "" },
} satisfies NonNullable<ParseArgsConfig["options"]>;

/** How `tether run` and `rerun` follow what they start: its output (none), or its id alone (-d), then until it is ready (--wait, -d implied). */
export interface StartFollowing {
  readonly detach: boolean;
  readonly untilReady: boolean;
  readonly timeout: ReturnType<typeof parseDurationFlag> | undefined;
}

/** What START_FLAGS say of following: --timeout is --wait's. */
export function startFollowing(values: { detach: boolean; wait: boolean; timeout?: string }): StartFollowing {
  if (values.timeout !== undefined && !values.wait) throw new CliError("--timeout is how long --wait waits for the session to be ready: add --wait", 2);
  return { detach: values.detach || values.wait, untilReady: values.wait, timeout: values.timeout === undefined ? undefined : parseDurationFlag("--timeout", values.timeout) };
}
