import { readFileSync } from "node:fs";
import { readBuildId } from "../common/build-id.js";

/** This CLI's release; the bundle sits in dist/, one level below package.json. */
export const CLIENT_VERSION: string = (
  JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }
).version;

/** This CLI's build (common/build-id.ts), read once; undefined when run from the sources. */
export const CLIENT_BUILD_ID: string | undefined = readBuildId();

/**
 * Why a daemon of this client's release but another build (`daemonBuild`)
 * may not do what this client asks, and how to fix it; undefined when the
 * builds are the same, or one of them is unknown (run from the sources).
 */
export function otherBuild(daemonBuild: string): string | undefined {
  if (CLIENT_BUILD_ID === undefined || daemonBuild === "" || daemonBuild === CLIENT_BUILD_ID) return undefined;
  return `another build of tether ${CLIENT_VERSION} than this client's (tether was rebuilt since it started): what this build added, it does not know (a new option is ignored); tether daemon restart runs this build (it stops live work)`;
}
