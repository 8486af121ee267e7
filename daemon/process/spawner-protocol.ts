/** The IPC messages between the daemon (spawner.ts) and its process starter (spawner-helper.ts). */

/** From the daemon: one stdio socket of process `id` (the socket travels as the message's handle), then the spawn. */
export type HelperRequest =
  | { readonly t: "stdio"; readonly id: number; readonly fd: 0 | 1 | 2 }
  | {
      readonly t: "spawn";
      readonly id: number;
      readonly file: string;
      readonly args: readonly string[];
      readonly cwd: string;
      readonly env: Readonly<Record<string, string | undefined>>;
    };

/** From the helper: the process started (with its pid) or could not, and later how it exited. */
export type HelperReport =
  | { readonly t: "spawned"; readonly id: number; readonly pid: number }
  | { readonly t: "failed"; readonly id: number; readonly message: string }
  | { readonly t: "exited"; readonly id: number; readonly code: number | null; readonly signal: NodeJS.Signals | null };
