import { spawn, type ChildProcess } from "node:child_process";
import type { Socket } from "node:net";
import { Code } from "@connectrpc/connect";
import { TetherError } from "../errors.js";
import { log } from "../log.js";

/** How long a network's holder may take to come up before the workspace is refused. */
const START_TIMEOUT_MS = 10_000;

/** A running holder: the pids whose namespaces every process of the workspace joins. */
interface Holder {
  readonly process: ChildProcess;
  /** The holder's user namespace lives in this process (bwrap's own, started by `unshare --user`). */
  readonly userPid: number;
  /** The network namespace lives in this one (the sandbox's first process). */
  readonly netPid: number;
  exited: boolean;
}

/**
 * One network per `--no-network` workspace, as a container has one: every
 * process started in the workspace (execs, PTYs, session runs, readiness
 * checks) shares its loopback, so a task can reach the service its upstream
 * started, and nothing in it reaches the host's network or the host's
 * loopback. bwrap cannot join a network namespace (only make a new one), so a
 * holder makes it: `unshare --user --map-current-user` (a user namespace of
 * the daemon's own user, which owns what is made inside it) running `bwrap
 * --unshare-net` around `sleep infinity` (bwrap brings the loopback up).
 * Each process then starts as `nsenter --preserve-credentials
 * --user=/proc/U/ns/user --net=/proc/N/ns/net -- bwrap ...` without
 * `--unshare-net`: entering the user namespace first gives the rights to
 * enter the network namespace made inside it (as root and as any other user).
 * The holder dies with the daemon (`--die-with-parent`); a network lives as
 * long as a process is in it, so what runs in it keeps it after its holder is
 * gone, and a new holder (the next daemon's) makes a new one.
 */
export class WorkspaceNetworks {
  private readonly holders = new Map<string, Holder>();
  private readonly starting = new Map<string, Promise<void>>();

  /** Starts workspace `id`'s network unless it runs; rejects with what went wrong (the sandbox cannot be provided). */
  start(id: string): Promise<void> {
    const holder = this.holders.get(id);
    if (holder !== undefined && !holder.exited) return Promise.resolve();
    let started = this.starting.get(id);
    if (started === undefined) {
      started = startHolder().then(
        (h) => {
          this.holders.set(id, h);
          h.process.once("exit", () => (h.exited = true));
        },
        (error: unknown) => {
          throw new TetherError(Code.FailedPrecondition, "SANDBOX_UNAVAILABLE", `this machine cannot provide a network of its own for a --no-network workspace: ${(error as Error).message}`, { sandbox: "bwrap" });
        },
      );
      const forget = (): void => void this.starting.delete(id);
      started.then(forget, forget);
      this.starting.set(id, started);
    }
    return started;
  }

  /** The argv prefix that puts a process into workspace `id`'s network; throws (and starts a new one) when its holder is gone. */
  enter(id: string): string[] {
    const holder = this.holders.get(id);
    if (holder === undefined || holder.exited) {
      void this.start(id).catch((error: unknown) => log(`workspace ${id}: ${(error as Error).message}`));
      throw new TetherError(
        Code.Unavailable,
        "SANDBOX_UNAVAILABLE",
        `the network of workspace ${id} is not up (the process that holds it ended): tether is starting it again; run the command again in a moment`,
        { workspace: id },
      );
    }
    return ["nsenter", "--preserve-credentials", `--user=/proc/${holder.userPid}/ns/user`, `--net=/proc/${holder.netPid}/ns/net`, "--"];
  }

  /** Ends workspace `id`'s holder (the workspace was removed). */
  stop(id: string): void {
    this.holders.get(id)?.process.kill("SIGKILL");
    this.holders.delete(id);
  }

  /** Ends every holder (the daemon stops). */
  stopAll(): void {
    for (const id of [...this.holders.keys()]) this.stop(id);
  }
}

function startHolder(): Promise<Holder> {
  // No PID namespace of its own: nothing enters it but the network, and bwrap would add an init (a third process) for it.
  const argv = ["--user", "--map-current-user", "--", "bwrap", "--unshare-net", "--die-with-parent", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--info-fd", "3", "--", "sleep", "infinity"];
  return new Promise((resolve, reject) => {
    const child = spawn("unshare", argv, { stdio: ["ignore", "ignore", "pipe", "pipe"] });
    let info = "";
    let stderr = "";
    const timer = setTimeout(() => fail(new Error(`its holder did not start in ${START_TIMEOUT_MS / 1000}s`)), START_TIMEOUT_MS);
    const fail = (error: Error): void => {
      clearTimeout(timer);
      child.kill("SIGKILL");
      reject(error);
    };
    child.once("error", (error) => fail(new Error(`unshare (util-linux) could not run: ${error.message}`)));
    child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.once("exit", (code) => fail(new Error(`unshare --user --map-current-user bwrap --unshare-net failed (${stderr.trim().split("\n").at(-1) || `exit ${code}`})`)));
    const infoPipe = child.stdio[3] as NodeJS.ReadableStream;
    infoPipe.on("data", (chunk: Buffer) => (info += chunk.toString()));
    infoPipe.once("end", () => {
      let netPid: unknown;
      try {
        netPid = (JSON.parse(info) as Record<string, unknown>)["child-pid"];
      } catch {
        // Said below.
      }
      if (typeof netPid !== "number" || child.pid === undefined) return fail(new Error(`bwrap did not say where its sandbox runs (${JSON.stringify(info.slice(0, 200))})`));
      clearTimeout(timer);
      child.removeAllListeners("exit");
      // It says nothing more; what it might is drained, and it does not keep the daemon's event loop alive.
      child.stderr!.removeAllListeners("data").resume();
      (child.stderr as Socket).unref();
      child.unref();
      resolve({ process: child, userPid: child.pid, netPid, exited: false });
    });
  });
}
