import type { Socket } from "node:net";
import { log } from "../log.js";
import { DirectSpawner } from "./direct-spawner.js";
import { HelperSpawner } from "./helper-spawner.js";
import { loadDescriptors } from "./native-descriptors.js";
import { loadNativeSpawner } from "./native-spawner.js";
import type { StartedProcess } from "./process-identity.js";

export interface SpawnRequest {
  readonly file: string;
  readonly args: readonly string[];
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdin: boolean;
}

export interface ProcessExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A process being started: the daemon's ends of its stdio, its pid once it runs, its exit. */
export interface Spawned {
  /** Write only once `started` resolved. */
  readonly stdin: Socket | undefined;
  readonly stdout: Socket;
  readonly stderr: Socket;
  /** The pid and start time; rejects with the OS's reason when the process could not start (ENOENT, a bad cwd ...). */
  readonly started: Promise<StartedProcess>;
  readonly exited: Promise<ProcessExit>;
}

/**
 * Starts the daemon's processes (runs, execs, readiness probes), each in a
 * session of its own, its stdout and stderr (and stdin, when asked) Unix
 * stream sockets whose other ends the daemon reads. The daemon never forks
 * itself: Node spawns by fork(), whose cost grows with the forking
 * process's memory and blocks its event loop meanwhile (measured here, 2-4
 * ms from a 70 MB process, 10 ms from 140 MB and 33 ms from 590 MB, during
 * which no client is served). So processes are started with posix_spawn
 * (DirectSpawner, native/spawn.c), which copies nothing, or where that addon
 * was not built (or TETHER_NATIVE_SPAWN=0) by Node's spawn in a small helper
 * process (HelperSpawner).
 */
export interface Spawner {
  /** Resolves once the process's stdio are connected (it is about to start, or runs); `started` says whether it did. */
  spawn(request: SpawnRequest): Promise<Spawned>;
  /** After every process has ended. */
  close(): void;
}

/** The daemon's spawner: natively when it can. `privateDir`: the daemon's own 0700 directory (the helper's stdio listener goes there). */
export async function startSpawner(privateDir: string): Promise<Spawner> {
  const native = loadNativeSpawner();
  const descriptors = native === undefined ? undefined : loadDescriptors();
  if (native !== undefined && descriptors !== undefined) return new DirectSpawner(native, descriptors);
  if (native !== undefined) log("native/descriptors.c was not built: processes are started by a helper with Node's spawn");
  return HelperSpawner.start(privateDir);
}
