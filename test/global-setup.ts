import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Every temp directory of a test run (daemon homes with their journals,
 * sockets, task files) goes under one directory, removed when the run
 * ends: a run writes hundreds of MB of process output into its daemons'
 * homes. The workers inherit TMPDIR, which os.tmpdir() follows.
 */
export default function setup(): () => void {
  const root = mkdtempSync(join(tmpdir(), "tether-tests-"));
  process.env["TMPDIR"] = root;
  return () => rmSync(root, { recursive: true, force: true });
}
