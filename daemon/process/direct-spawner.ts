import { closeSync } from "node:fs";
import { Socket } from "node:net";
import { log } from "../log.js";
import type { NativeDescriptors } from "./native-descriptors.js";
import { exitOf, nativeEnvironment, spawnNatively, type NativeSpawner } from "./native-spawner.js";
import type { StartedProcess } from "./process-identity.js";
import type { ProcessExit, SpawnRequest, Spawned, Spawner } from "./spawner.js";

/**
 * Starts processes from the daemon itself with posix_spawn (native/spawn.c):
 * glibc runs it as a vfork-like clone, which copies nothing, so its cost
 * does not grow with the daemon's memory (Node's spawn forks: see Spawner).
 * Its stdout and stderr are pipes, its stdin one end of a socket pair (the
 * kind Node's own spawn gives a child for all three), the other ends read
 * or written by the daemon: a pipe takes less CPU per byte on both sides
 * than a socket (measured here: for a GiB, ~0.3 s of the reader's and ~0.65
 * s of the writer's against ~0.5 and ~1.0), and its capacity can grow
 * (see OutputReader). Children are reaped on SIGCHLD, each by its pid: Node reaps the
 * ones it started itself.
 *
 * The posix_spawn call, which returns once the child has exec'd (~1 ms
 * here), runs on a thread of libuv's pool, not on the daemon's loop; a
 * helper process, as HelperSpawner uses, cost the loop more: a message
 * each way, and a connection per fd.
 */
export class DirectSpawner implements Spawner {
  /** Live children: pid to what their exit resolves. */
  private readonly running = new Map<number, (exit: ProcessExit) => void>();
  private readonly onChildExit = (): void => this.reap();
  private closed = false;

  constructor(
    private readonly native: NativeSpawner,
    private readonly descriptors: NativeDescriptors,
  ) {
    process.on("SIGCHLD", this.onChildExit);
  }

  async spawn(request: SpawnRequest): Promise<Spawned> {
    if (this.closed) throw new Error("the daemon is stopping: no new processes");
    const environment = nativeEnvironment(request);
    // Per fd: [the daemon's end, the child's end]; none for a stdin the child does not get. The
    // child's ends are closed by the spawn (the child has its own copies then): ours would keep its stdio open after it exits.
    const pairs: ([number, number] | undefined)[] = [];
    let started: StartedProcess;
    let handedOver = false;
    try {
      pairs.push(request.stdin ? this.descriptors.socketpair() : undefined);
      pairs.push(this.descriptors.pipe()); // stdout
      pairs.push(this.descriptors.pipe()); // stderr
      handedOver = true;
      started = await spawnNatively(this.native, request, environment, pairs.map((pair) => pair?.[1] ?? -1));
    } catch (error) {
      // Ours always; the child's too when the spawn never took them over.
      for (const pair of pairs) {
        if (pair === undefined) continue;
        closeSync(pair[0]);
        if (!handedOver) closeSync(pair[1]);
      }
      throw error;
    }
    let exitedAs!: (exit: ProcessExit) => void;
    const exited = new Promise<ProcessExit>((resolve) => (exitedAs = resolve));
    this.running.set(started.pid, exitedAs);
    // Its SIGCHLD may have come while it was being started (only this child: the others were looked at then).
    this.reapChild(started.pid, exitedAs);
    const [stdin, stdout, stderr] = pairs.map((pair, fd) => (pair === undefined ? undefined : new Socket({ fd: pair[0], readable: fd !== 0, writable: fd === 0 })));
    return { stdin, stdout: stdout!, stderr: stderr!, started: Promise.resolve(started), exited };
  }

  close(): void {
    this.closed = true;
    process.off("SIGCHLD", this.onChildExit);
  }

  /** Resolves the exit of every child that has exited (a SIGCHLD may stand for several). */
  private reap(): void {
    for (const [pid, exited] of this.running) this.reapChild(pid, exited);
  }

  /** Resolves child `pid`'s exit if it has exited. */
  private reapChild(pid: number, exited: (exit: ProcessExit) => void): void {
    let exit: ProcessExit | undefined;
    try {
      exit = exitOf(this.native, pid);
    } catch (error) {
      // Reaped by someone else (it should not be): its exit cannot be known; it ends as a lost helper's processes do.
      log(`process ${pid}: its exit could not be read (${(error as Error).message}); recorded as killed`);
      exit = { code: null, signal: "SIGKILL" };
    }
    if (exit === undefined) return;
    this.running.delete(pid);
    exited(exit);
  }
}
