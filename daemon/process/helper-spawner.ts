import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { log } from "../log.js";
import type { StartedProcess } from "./process-identity.js";
import type { ProcessExit, SpawnRequest, Spawned, Spawner } from "./spawner.js";
import { StdioListener } from "./stdio-listener.js";
import { envChanges, type HelperReport, type HelperRequest } from "./spawner-protocol.js";

/** The helper's entry, built beside the daemon's (dist/spawner.mjs). */
const HELPER_ENTRY = fileURLToPath(new URL("./spawner.mjs", import.meta.url));

interface InFlight {
  pid: number | undefined;
  readonly started: { resolve: (process: StartedProcess) => void; reject: (error: Error) => void };
  readonly exited: (exit: ProcessExit) => void;
}

/**
 * Starts the daemon's processes where it cannot spawn natively (see
 * Spawner): a small helper process (spawner-helper.ts, forked once) spawns
 * them with Node's spawn, which forks the helper, not the daemon. It
 * connects each process's stdio to the daemon (StdioListener) before it
 * spawns, so output flows to the daemon directly and the helper only
 * reports the pid and the exit.
 */
export class HelperSpawner implements Spawner {
  private helper: ChildProcess;
  private readonly inFlight = new Map<number, InFlight>();
  private nextId = 1;
  private closed = false;
  /** The environment of the last request the helper was sent: the next one is sent as changes to it. */
  private helperEnv: Readonly<Record<string, string | undefined>> = {};

  private constructor(private readonly stdio: StdioListener) {
    this.helper = this.startHelper();
  }

  /** `privateDir`: the daemon's own 0700 directory (see StdioListener.open). */
  static async start(privateDir: string): Promise<HelperSpawner> {
    return new HelperSpawner(await StdioListener.open(privateDir));
  }

  /** Resolves once the process's stdio are connected (it is about to start); `started` says whether it did. */
  async spawn(request: SpawnRequest): Promise<Spawned> {
    if (this.closed) throw new Error("the daemon is stopping: no new processes");
    const id = this.nextId++;
    let started!: InFlight["started"];
    let exited!: InFlight["exited"];
    const startedPromise = new Promise<StartedProcess>((resolve, reject) => (started = { resolve, reject }));
    const exitedPromise = new Promise<ProcessExit>((resolve) => (exited = resolve));
    // When the stdio never connect, the caller gets that failure from this call and never sees `started`.
    startedPromise.catch(() => undefined);
    const ends = this.stdio.expect(id, request.stdin ? [0, 1, 2] : [1, 2]);
    this.inFlight.set(id, { pid: undefined, started, exited });
    const message: HelperRequest = { t: "spawn", id, file: request.file, args: request.args, cwd: request.cwd, env: envChanges(this.helperEnv, request.env), stdin: request.stdin };
    this.helper.send(message);
    this.helperEnv = { ...request.env };
    const [stdin, stdout, stderr] = await ends;
    return { stdin, stdout: stdout!, stderr: stderr!, started: startedPromise, exited: exitedPromise };
  }

  /** After every process has ended: the helper exits, the stdio listener closes. */
  close(): void {
    this.closed = true;
    this.stdio.close();
    if (this.helper.connected) this.helper.disconnect();
  }

  private startHelper(): ChildProcess {
    this.helperEnv = {};
    // Its own process group (a Ctrl-C at `tether daemon run` must not reach it) and a bare
    // environment: each process gets its own, and the daemon's NODE_OPTIONS are not the helper's.
    const helper = fork(HELPER_ENTRY, [this.stdio.path], { stdio: ["ignore", "inherit", "inherit", "ipc"], env: helperEnv(), execArgv: [], detached: true });
    helper.on("message", (report: HelperReport) => this.onReport(report));
    helper.on("error", (error) => log(`process starter: ${error.message}`));
    helper.once("exit", (code, signal) => this.onHelperExit(code, signal));
    return helper;
  }

  private onReport(report: HelperReport): void {
    const entry = this.inFlight.get(report.id);
    if (entry === undefined) return;
    switch (report.t) {
      case "spawned":
        entry.pid = report.pid;
        entry.started.resolve({ pid: report.pid, startTicks: report.startTicks });
        return;
      case "failed":
        this.inFlight.delete(report.id);
        this.stdio.cancel(report.id, new Error(report.message));
        entry.started.reject(new Error(report.message));
        return;
      case "exited":
        this.inFlight.delete(report.id);
        entry.exited({ code: report.code, signal: report.signal });
        return;
    }
  }

  /**
   * The helper died (it should not): the exit of what it started can no
   * longer be known, so those processes are killed (their runs and execs end
   * killed by SIGKILL, as `tether ws stop` would leave them), and a new
   * helper starts the next ones.
   */
  private onHelperExit(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.closed) return;
    log(`process starter exited (${signal ?? `code ${code}`}): ${this.inFlight.size} live processes killed; starting a new one`);
    for (const [id, entry] of this.inFlight) {
      if (entry.pid === undefined) {
        const error = new Error("tether's process starter exited before starting it: run it again");
        this.stdio.cancel(id, error);
        entry.started.reject(error);
      } else {
        try {
          process.kill(-entry.pid, "SIGKILL");
        } catch {
          // Already gone.
        }
        entry.exited({ code: null, signal: "SIGKILL" });
      }
    }
    this.inFlight.clear();
    this.helper = this.startHelper();
  }
}

/** The helper's environment: PATH only (each process gets its own). */
function helperEnv(): NodeJS.ProcessEnv {
  return { PATH: process.env["PATH"] ?? "" };
}
