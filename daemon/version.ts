import { readFileSync } from "node:fs";

/**
 * The daemon's release, read from package.json so it cannot drift from what
 * npm installed. Both daemon/version.ts and the bundle in dist/ sit one
 * directory below the package root.
 */
export const DAEMON_VERSION: string = (
  JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }
).version;
