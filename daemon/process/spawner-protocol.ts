/** The IPC messages between the daemon (spawner.ts) and its process starter (spawner-helper.ts). */

/** From the daemon: start process `id`, its stdout and stderr (and stdin, when asked) connected to the daemon's stdio listener. */
export interface HelperRequest {
  readonly t: "spawn";
  readonly id: number;
  readonly file: string;
  readonly args: readonly string[];
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdin: boolean;
}

/** From the helper: the process started (with its pid) or could not, and later how it exited. */
export type HelperReport =
  | { readonly t: "spawned"; readonly id: number; readonly pid: number }
  | { readonly t: "failed"; readonly id: number; readonly message: string }
  | { readonly t: "exited"; readonly id: number; readonly code: number | null; readonly signal: NodeJS.Signals | null };
