import { readFileSync } from "node:fs";

/** The file scripts/build.mjs writes beside the bundles in dist/: a hash of their contents. */
export const BUILD_ID_FILE = "build-id";

/**
 * This build's id, read from BUILD_ID_FILE beside the running bundle: a
 * client compares it with its daemon's, so a daemon started before tether
 * was rebuilt with changes (same release, other code) is told apart from
 * one of its own build. The same sources build the same bundles, and the
 * same id. Undefined when run from the sources (no bundle, no id).
 */
export function readBuildId(): string | undefined {
  try {
    return readFileSync(new URL(`./${BUILD_ID_FILE}`, import.meta.url), "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
}
