import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startDaemon, type TestDaemon } from "./daemon.js";

/** Mounting a tmpfs needs root (CI runs as root): tests on a full disk skip without it. */
export const CAN_FILL_A_DISK = process.getuid?.() === 0;

/** Runs `test` against a daemon whose state dir lies on a 48 MiB tmpfs of its own, so output fills it; stops the daemon and unmounts after. */
export async function onSmallDisk(test: (d: TestDaemon) => Promise<void>): Promise<void> {
  const fs = mkdtempSync(join(tmpdir(), "tether-fullfs-"));
  execFileSync("mount", ["-t", "tmpfs", "-o", "size=48m,mode=0700", "tmpfs", fs]);
  let d: TestDaemon | undefined;
  try {
    mkdirSync(join(fs, "home"), { mode: 0o700 });
    d = await startDaemon({ home: join(fs, "home"), socketPath: join(fs, "tether.sock") });
    await test(d);
  } finally {
    await d?.stop();
    execFileSync("umount", [fs]);
  }
}
