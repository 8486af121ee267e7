/** The IPC messages between the daemon (spawner.ts) and its process starter (spawner-helper.ts). */

/** From the daemon: start process `id`, its stdout and stderr (and stdin, when asked) connected to the daemon's stdio listener. */
export interface HelperRequest {
  readonly t: "spawn";
  readonly id: number;
  readonly file: string;
  readonly args: readonly string[];
  readonly cwd: string;
  /** The environment, as changes to the last request's (see envChanges). */
  readonly env: EnvChanges;
  readonly stdin: boolean;
}

/**
 * An environment as changes to another: each process's is mostly the
 * daemon's own, so a request carries what differs from the last one (a
 * few variables, not ~3 KB to encode, send and parse per process).
 */
export interface EnvChanges {
  readonly set: Readonly<Record<string, string>>;
  readonly unset: readonly string[];
}

/** What turns environment `from` into `to` (a variable set to undefined is unset, as spawn() would take it). */
export function envChanges(from: Readonly<Record<string, string | undefined>>, to: Readonly<Record<string, string | undefined>>): EnvChanges {
  // No prototype: a variable named __proto__ is a variable like any other.
  const set: Record<string, string> = Object.create(null);
  const unset: string[] = [];
  for (const key in to) {
    const value = to[key];
    if (value !== undefined && from[key] !== value) set[key] = value;
  }
  for (const key in from) if (from[key] !== undefined && to[key] === undefined) unset.push(key);
  return { set, unset };
}

/** Applies `changes` to `env` (an object without a prototype) in place. */
export function applyEnvChanges(env: Record<string, string>, changes: EnvChanges): void {
  for (const key of changes.unset) delete env[key];
  for (const key of Object.keys(changes.set)) env[key] = changes.set[key]!;
}

/** From the helper: the process started (with its pid) or could not, and later how it exited. */
export type HelperReport =
  | { readonly t: "spawned"; readonly id: number; readonly pid: number; readonly startTicks: number | undefined }
  | { readonly t: "failed"; readonly id: number; readonly message: string }
  | { readonly t: "exited"; readonly id: number; readonly code: number | null; readonly signal: NodeJS.Signals | null };
