import { readFileSync } from "node:fs";

/** This CLI's release; the bundle sits in dist/, one level below package.json. */
export const CLIENT_VERSION: string = (
  JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }
).version;
