import type { DescService } from "@bufbuild/protobuf";
import { createClient, type Client } from "@connectrpc/connect";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach } from "vitest";
import { DAEMON_NODE_FLAGS } from "../../client/daemon-process.js";
import { createTransport } from "./connect-transport.js";

export const ROOT = new URL("../../", import.meta.url).pathname;
export const DAEMON_ENTRY = join(ROOT, "dist", "daemon.mjs");
export const CLI_ENTRY = join(ROOT, "bin", "tether.cjs");

/** A real daemon process on a temp socket with a temp TETHER_HOME. */
export interface TestDaemon {
  readonly home: string;
  readonly socketPath: string;
  readonly env: NodeJS.ProcessEnv;
  process: ChildProcess;
  client<S extends DescService>(service: S): Client<S>;
  /** SIGKILL, and wait for the process to be gone. */
  kill(): Promise<void>;
  /** SIGTERM, and wait for a clean exit; resolves the exit code. */
  stop(): Promise<number | null>;
  /** Start a new daemon process on the same home and socket. */
  restart(): Promise<void>;
  log(): string;
}

export function tempDirs(): { home: string; socketPath: string } {
  const home = mkdtempSync(join(tmpdir(), "tether-home-"));
  const socketDir = mkdtempSync(join(tmpdir(), "tether-sock-"));
  return { home, socketPath: join(socketDir, "tether.sock") };
}

export async function startDaemon(dirs = tempDirs(), extraEnv: NodeJS.ProcessEnv = {}): Promise<TestDaemon> {
  const env = { ...process.env, TETHER_HOME: dirs.home, TETHER_SOCKET: dirs.socketPath, ...extraEnv };
  let output = "";
  const launch = async (): Promise<ChildProcess> => {
    // TETHER_DAEMON_NODE_ARGS: node flags for the daemon, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"
    // to profile it under a test or bench (NODE_OPTIONS cannot carry --cpu-prof).
    const nodeArgs = process.env.TETHER_DAEMON_NODE_ARGS?.split(" ").filter((a) => a !== "") ?? [];
    // TETHER_DAEMON_ENTRY in extraEnv: another build's daemon.mjs, for probes that pair two builds.
    const entry = extraEnv["TETHER_DAEMON_ENTRY"] ?? DAEMON_ENTRY;
    // TETHER_DAEMON_LAUNCHER in extraEnv: a command the daemon runs under, e.g. "prlimit --nofile=200:200".
    const [launcher, ...launcherArgs] = [...(extraEnv["TETHER_DAEMON_LAUNCHER"]?.split(" ").filter((a) => a !== "") ?? []), process.execPath];
    const child = spawn(launcher!, [...launcherArgs, ...DAEMON_NODE_FLAGS, ...nodeArgs, entry], { env, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout?.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (output += d.toString()));
    await waitForSocket(dirs.socketPath, child, () => output);
    return child;
  };
  const exited = (child: ChildProcess): Promise<number | null> =>
    child.exitCode !== null || child.signalCode !== null
      ? Promise.resolve(child.exitCode)
      : new Promise((resolve) => child.once("exit", (code) => resolve(code)));
  const daemon: TestDaemon = {
    ...dirs,
    env,
    process: await launch(),
    client: (service) => createClient(service, createTransport(dirs.socketPath)),
    async kill() {
      daemon.process.kill("SIGKILL");
      await exited(daemon.process);
    },
    async stop() {
      daemon.process.kill("SIGTERM");
      return exited(daemon.process);
    },
    async restart() {
      daemon.process = await launch();
    },
    log: () => output,
  };
  return daemon;
}

export async function waitForSocket(socketPath: string, child?: ChildProcess, log?: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child !== undefined && child.exitCode !== null) {
      throw new Error(`daemon exited with ${child.exitCode}: ${log?.() ?? ""}`);
    }
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(socketPath);
      s.once("connect", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no daemon answered on ${socketPath}: ${log?.() ?? ""}`);
}

export function readLog(home: string): string {
  return readFileSync(join(home, "daemon.log"), "utf8");
}

/**
 * Environments for driving the built CLI, each on its own temp socket and
 * TETHER_HOME (the CLI starts the daemon itself); every daemon started in
 * one is stopped with `tether daemon stop` after its test.
 */
export function cliEnvPerTest(extraEnv: NodeJS.ProcessEnv = {}): () => NodeJS.ProcessEnv {
  const started: NodeJS.ProcessEnv[] = [];
  afterEach(() => {
    for (const env of started.splice(0)) spawnSync(process.execPath, [CLI_ENTRY, "daemon", "stop"], { env, encoding: "utf8" });
  });
  return () => {
    const dirs = tempDirs();
    const env = { ...process.env, TETHER_HOME: dirs.home, TETHER_SOCKET: dirs.socketPath, ...extraEnv };
    started.push(env);
    return env;
  };
}

/** A daemon factory for a test file: every daemon it starts is stopped after its test. */
export function daemonPerTest(): (extraEnv?: NodeJS.ProcessEnv) => Promise<TestDaemon> {
  const daemons: TestDaemon[] = [];
  afterEach(async () => {
    for (const d of daemons.splice(0)) await d.stop();
  });
  return async (extraEnv = {}) => {
    const d = await startDaemon(tempDirs(), extraEnv);
    daemons.push(d);
    return d;
  };
}
