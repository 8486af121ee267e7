import { chmodSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { commandLine } from "../../common/format.js";

/**
 * Writes `<stateDir>/bin/tether`, a shell script that runs this daemon's own
 * CLI with this daemon's Node. Runs get `binDir` first on PATH, so `tether`
 * inside a task talks to the daemon that started it, whatever else is
 * installed; a sandbox must let both `binDir` and `packageDir` (the bundle
 * in dist/ and the package.json it reads its version from) through.
 */
export function installCliShim(stateDir: string): { binDir: string; packageDir: string } {
  const binDir = join(stateDir, "bin");
  mkdirSync(binDir, { recursive: true, mode: 0o700 });
  // The bundle layout: dist/daemon.mjs beside dist/tether.cjs.
  const cli = fileURLToPath(new URL("./tether.cjs", import.meta.url));
  if (!existsSync(cli)) throw new Error(`the tether CLI is missing at ${cli}: run npm run build`);
  const path = join(binDir, "tether");
  writeFileSync(path, `#!/bin/sh\nexec ${commandLine([process.execPath, cli])} "$@"\n`);
  chmodSync(path, 0o755);
  return { binDir, packageDir: dirname(dirname(cli)) };
}
