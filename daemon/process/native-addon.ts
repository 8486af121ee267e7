import { createRequire } from "node:module";

/** Where node-gyp puts tether's addons (binding.gyp): seen from the bundles in dist/, and from daemon/process/ (under tests). */
const BUILD_DIRS = ["../build/Release", "../../build/Release"];

/** The addon `name` (native/*.c, built when tether is installed), or undefined when it was not built: callers then keep to what Node does alone. */
export function loadAddon<T>(name: string): T | undefined {
  const require = createRequire(import.meta.url);
  for (const dir of BUILD_DIRS) {
    try {
      return require(`${dir}/${name}.node`) as T;
    } catch {
      // Not built, or not there: the next place, or none.
    }
  }
  return undefined;
}
