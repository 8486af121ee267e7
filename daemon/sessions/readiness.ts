import { connect } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { GroupProcess } from "../process/child-process.js";
import type { Spawner } from "../process/spawner.js";
import type { Readiness } from "../tasks/types.js";
import { TIMER_MAX_MS } from "../long-timeout.js";

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

/**
 * An http or tcp check made from inside a workspace's own network: Node (the
 * daemon's, which the sandbox sees read-only) as the checking process.
 * argv: the kind, then the URL or host:port.
 */
const PROBE_FROM_INSIDE = `
const [kind, target] = process.argv.slice(1);
const pass = () => process.exit(0), fail = () => process.exit(1);
if (kind === "http") {
  fetch(target, { redirect: "manual" }).then((r) => (r.status >= 200 && r.status < 400 ? pass() : fail()), fail);
} else {
  const colon = target.lastIndexOf(":");
  require("node:net").connect({ host: target.slice(0, colon), port: Number(target.slice(colon + 1)) }).once("connect", pass).once("error", fail);
}`;

/**
 * Polls the readiness checks every interval until all pass (resolves true),
 * the readiness timeout passes (false), or `signal` aborts (false).
 */
export async function waitUntilReady(readiness: Readiness, context: ProbeContext, signal: AbortSignal): Promise<boolean> {
  const deadline = Date.now() + readiness.timeoutMs;
  while (!signal.aborted) {
    if (await allPass(readiness, context, signal)) return true;
    const left = deadline - Date.now();
    if (left <= 0) return false;
    try {
      await sleep(Math.min(readiness.intervalMs, left, TIMER_MAX_MS), undefined, { signal });
    } catch {
      return false;
    }
  }
  return false;
}

async function allPass(readiness: Readiness, context: ProbeContext, signal: AbortSignal): Promise<boolean> {
  const probeSignal = AbortSignal.any([signal, AbortSignal.timeout(PROBE_TIMEOUT_MS)]);
  const probes: Promise<boolean>[] = [];
  const inside = (kind: string, target: string): Promise<boolean> => argvProbe([process.execPath, "-e", PROBE_FROM_INSIDE, kind, target], context, probeSignal);
  if (readiness.http !== undefined) probes.push(context.ownNetwork ? inside("http", readiness.http) : httpProbe(readiness.http, probeSignal));
  if (readiness.tcp !== undefined) probes.push(context.ownNetwork ? inside("tcp", readiness.tcp) : tcpProbe(readiness.tcp, probeSignal));
  if (readiness.cmd !== undefined) probes.push(argvProbe(["/bin/sh", "-c", readiness.cmd], context, probeSignal));
  return (await Promise.all(probes)).every(Boolean);
}

async function httpProbe(url: string, signal: AbortSignal): Promise<boolean> {
  try {
    const response = await fetch(url, { signal, redirect: "manual" });
    await response.body?.cancel();
    return response.status >= 200 && response.status < 400;
  } catch {
    return false;
  }
}

function tcpProbe(address: string, signal: AbortSignal): Promise<boolean> {
  const colon = address.lastIndexOf(":");
  return new Promise((resolve) => {
    const socket = connect({ host: address.slice(0, colon), port: Number(address.slice(colon + 1)), signal });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** A probe that is a process, run where the run runs: it passes when it exits 0; an abort (the run ended, the probe timed out) kills its process group. */
async function argvProbe(command: readonly string[], context: ProbeContext, signal: AbortSignal): Promise<boolean> {
  let argv: readonly string[];
  try {
    argv = context.wrap(command);
  } catch {
    return false; // The workspace's network is not up: not ready yet.
  }
  const probe = new GroupProcess({ argv, cwd: context.cwd, env: context.env, stdin: false, onOutput: () => undefined, spawner: context.spawner });
  const kill = (): void => void probe.signal("SIGKILL");
  signal.addEventListener("abort", kill, { once: true });
  const end = await probe.ended;
  signal.removeEventListener("abort", kill);
  return end.t === "exited" && end.code === 0;
}
