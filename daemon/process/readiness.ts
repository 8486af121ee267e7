import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { connect } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { GroupProcess } from "./child-process.js";
import type { Spawner } from "./spawner.js";
import type { Readiness } from "../tasks/types.js";
import { TIMER_MAX_MS } from "../long-timeout.js";

/** Readiness checks' pause between rounds and how long they may take, when not given. */
export const READINESS_DEFAULT_INTERVAL_MS = 1_000;
export const READINESS_DEFAULT_TIMEOUT_MS = 60_000;

/** Once a service (an exec, a session's run) is ready, how often its checks go on when not given (docker's healthcheck interval), and how many rounds failing in a row make it unhealthy (docker's retries). */
export const HEALTH_DEFAULT_INTERVAL_MS = 30_000;
export const HEALTH_FAILURES = 3;

/** What is wrong with readiness checks as given (a task file's, an exec's), each named by its key; empty when nothing is. */
export function readinessProblems(readiness: Readiness): string[] {
  const problems: string[] = [];
  if (readiness.http === undefined && readiness.tcp === undefined && readiness.cmd === undefined) problems.push("readiness needs at least one of http, tcp or cmd");
  if (readiness.http !== undefined && !/^https?:\/\//.test(readiness.http)) problems.push(`readiness.http must be an http:// or https:// URL, got ${JSON.stringify(readiness.http)}`);
  if (readiness.tcp !== undefined && !/^[^:\s]+:\d{1,5}$/.test(readiness.tcp)) problems.push(`readiness.tcp must be host:port, got ${JSON.stringify(readiness.tcp)}`);
  if (readiness.intervalMs <= 0) problems.push("readiness.interval must be more than 0");
  return problems;
}

/** One probe may take at most this long before it counts as failed. */
const PROBE_TIMEOUT_MS = 5_000;

export interface ProbeContext {
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Wraps a command probe's argv as the run's own command is wrapped (the workspace's sandbox). */
  readonly wrap: (argv: readonly string[]) => readonly string[];
  readonly spawner: Spawner;
  /** The run is in a --no-network workspace, whose loopback only its own processes see: http and tcp checks are made from in there. */
  readonly ownNetwork: boolean;
}

/** How much of a failed command probe's output its failure quotes: the end of it, where a tool says what went wrong. */
const PROBE_OUTPUT_QUOTED_BYTES = 200;

/**
 * An http or tcp check made from inside a workspace's own network: Node (the
 * daemon's, which the sandbox sees read-only) as the checking process. The
 * same checks as httpCheck and tcpCheck (kept alike: the sandbox runs this
 * text, not the daemon's bundle), why one failed on its stdout.
 * argv: the kind, then the URL or host:port.
 */
const PROBE_FROM_INSIDE = `
const [kind, target] = process.argv.slice(1);
const done = (why) => { if (why) process.stdout.write(why); process.exit(why ? 1 : 0); };
const error = (prefix) => (e) => done(prefix + ": " + (e.code && e.message.includes(e.code) ? e.code : e.message));
setTimeout(() => done(target + ": no answer in ${PROBE_TIMEOUT_MS / 1000}s"), ${PROBE_TIMEOUT_MS}).unref();
if (kind === "http") {
  const { request } = require(target.startsWith("https:") ? "node:https" : "node:http");
  request(target, { agent: false, rejectUnauthorized: false, headers: { "user-agent": "tether-readiness" } }, (r) => {
    r.resume();
    done(r.statusCode >= 200 && r.statusCode < 400 ? "" : target + " answered " + r.statusCode + (r.statusMessage ? " " + r.statusMessage : ""));
  }).once("error", error(target)).end();
} else {
  const colon = target.lastIndexOf(":");
  require("node:net").connect({ host: target.slice(0, colon), port: Number(target.slice(colon + 1)) }).once("connect", () => done("")).once("error", error("tcp " + target));
}`;

/** Readiness checks that did not pass: why the last round failed, or "" when they were stopped. */
export interface NotReady {
  readonly why: string;
}

/**
 * Polls the readiness checks every interval until all pass (resolves
 * undefined), the readiness timeout passes, or `signal` aborts (NotReady:
 * why the last round failed, for the run's end to say).
 */
export async function waitUntilReady(readiness: Readiness, context: ProbeContext, signal: AbortSignal): Promise<NotReady | undefined> {
  const deadline = Date.now() + readiness.timeoutMs;
  let why = "";
  while (!signal.aborted) {
    const failed = await checkOnce(readiness, context, signal);
    if (failed === undefined) return undefined;
    why = failed;
    const left = deadline - Date.now();
    if (left <= 0) return { why };
    try {
      await sleep(Math.min(readiness.intervalMs, left, TIMER_MAX_MS), undefined, { signal });
    } catch {
      return { why };
    }
  }
  return { why };
}

/** One round of the checks: undefined when every one passes, else why the first that failed did. */
export async function checkOnce(readiness: Readiness, context: ProbeContext, signal: AbortSignal): Promise<string | undefined> {
  const probeSignal = AbortSignal.any([signal, AbortSignal.timeout(PROBE_TIMEOUT_MS)]);
  const probes: Promise<string | undefined>[] = [];
  const inside = (kind: string, target: string): Promise<string | undefined> =>
    argvProbe([process.execPath, "-e", PROBE_FROM_INSIDE, kind, target], context, probeSignal, (how, output) => output || `${kind} ${target}: its check ${how}`);
  if (readiness.http !== undefined) probes.push(context.ownNetwork ? inside("http", readiness.http) : httpCheck(readiness.http, probeSignal));
  if (readiness.tcp !== undefined) probes.push(context.ownNetwork ? inside("tcp", readiness.tcp) : tcpCheck(readiness.tcp, probeSignal));
  if (readiness.cmd !== undefined) {
    probes.push(argvProbe(["/bin/sh", "-c", readiness.cmd], context, probeSignal, (how, output) => `cmd ${readiness.cmd} ${how}${output === "" ? "" : `: ${output}`}`));
  }
  return (await Promise.all(probes)).find((why) => why !== undefined);
}

/**
 * Undefined when `url` answers 2xx or 3xx, else what it answered or why it
 * could not. An https server's certificate is not checked, as Kubernetes'
 * HTTPS probes do not: a dev server's is self-signed, and whether the
 * service is up is the question.
 */
function httpCheck(url: string, signal: AbortSignal): Promise<string | undefined> {
  return new Promise((resolve) => {
    try {
      const request = url.startsWith("https:") ? httpsRequest : httpRequest;
      // No agent: each try's connection closes after its answer, rather than a pooled one held open to the service.
      const options = { signal, agent: false, rejectUnauthorized: false, headers: { "user-agent": "tether-readiness" } };
      request(url, options, (response) => {
        response.resume();
        const status = response.statusCode ?? 0;
        resolve(status >= 200 && status < 400 ? undefined : `${url} answered ${status}${response.statusMessage ? ` ${response.statusMessage}` : ""}`);
      })
        .once("error", (error) => resolve(`${url}: ${errorText(error, signal)}`))
        .end();
    } catch (error) {
      resolve(`${url}: ${(error as Error).message}`);
    }
  });
}

/** Undefined when `address` (host:port) takes a TCP connection, else why not. */
function tcpCheck(address: string, signal: AbortSignal): Promise<string | undefined> {
  const colon = address.lastIndexOf(":");
  return new Promise((resolve) => {
    const socket = connect({ host: address.slice(0, colon), port: Number(address.slice(colon + 1)), signal });
    socket.once("connect", () => {
      socket.destroy();
      resolve(undefined);
    });
    socket.once("error", (error) => resolve(`tcp ${address}: ${errorText(error, signal)}`));
  });
}

/** A failed connection's error as a check's failure says it: its code (ECONNREFUSED, ENOTFOUND) where its message names it, else its message. */
function errorText(error: Error & { code?: string }, signal: AbortSignal): string {
  if (signal.aborted) return `no answer in ${PROBE_TIMEOUT_MS / 1000}s`;
  return error.code === undefined || !error.message.includes(error.code) ? error.message : error.code;
}

/**
 * A probe that is a process, run where the run runs: it passes when it exits
 * 0, else `failure` says why, given how it ended and the end of its output
 * (trimmed); an abort (the run ended, the probe timed out) kills its process
 * group.
 */
async function argvProbe(
  command: readonly string[],
  context: ProbeContext,
  signal: AbortSignal,
  failure: (how: string, output: string) => string,
): Promise<string | undefined> {
  let argv: readonly string[];
  try {
    argv = context.wrap(command);
  } catch (error) {
    return `the workspace's network is not up: ${(error as Error).message}`;
  }
  let output = Buffer.alloc(0);
  const onOutput = (_fd: 1 | 2, chunk: Buffer): undefined => {
    output = Buffer.concat([output, chunk]).subarray(-PROBE_OUTPUT_QUOTED_BYTES);
    return undefined;
  };
  const probe = new GroupProcess({ argv, cwd: context.cwd, env: context.env, stdin: false, onOutput, spawner: context.spawner });
  const kill = (): void => void probe.signal("SIGKILL");
  signal.addEventListener("abort", kill, { once: true });
  const end = await probe.ended;
  signal.removeEventListener("abort", kill);
  if (end.t === "exited" && end.code === 0) return undefined;
  const quoted = output.toString("utf8").trim().replace(/\s+/g, " ");
  const how = signal.aborted
    ? `did not finish in ${PROBE_TIMEOUT_MS / 1000}s`
    : end.t === "exited"
      ? `exited with code ${end.code}`
      : end.t === "signalled"
        ? `was killed by ${end.signal}`
        : `could not start: ${end.message}`;
  return failure(how, quoted);
}
