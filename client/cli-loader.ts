/**
 * The CLI's entry, dist/tether.mjs: runs the bundled CLI (dist/cli.cjs) with
 * V8's code cache, so a command does not compile the CLI again on every
 * start (~10 ms of ~120 here; Node 20 has no module compile cache, that came
 * with NODE_COMPILE_CACHE in Node 22). The cache is written beside the
 * bundle when a run found none, or V8 rejected it (a new build, another Node);
 * one per set of node flags, which V8 checks too. Where it cannot be written
 * (a read-only install) the CLI runs as it would without it.
 */
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import vm from "node:vm";

const bundle = fileURLToPath(new URL("./cli.cjs", import.meta.url));
// Lets the bundle's own dynamic import (`tether daemon run` loads the daemon) work from a vm script.
const mainLoader = (vm as unknown as { constants?: { USE_MAIN_CONTEXT_DEFAULT_LOADER?: symbol } }).constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER;

if (mainLoader === undefined) {
  // Node before 20.12 cannot: the bundle runs as a plain module, uncached.
  await import(bundle);
} else {
  const cacheFile = join(dirname(bundle), `cli-${signature()}.cache`);
  let cachedData: Buffer | undefined;
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    cachedData = undefined;
  }
  const wrapped = `(function (exports, require, module, __filename, __dirname) {${readFileSync(bundle, "utf8")}\n})`;
  const script = new vm.Script(wrapped, { filename: bundle, cachedData, importModuleDynamically: mainLoader as never });
  if (cachedData === undefined || script.cachedDataRejected === true) process.once("exit", () => save(script, cacheFile));
  const module = { exports: {} };
  (script.runInThisContext() as (...args: unknown[]) => void)(module.exports, createRequire(bundle), module, bundle, dirname(bundle));
}

/** Writes the cache of everything compiled so far, atomically (other CLIs may start at the same moment); a failure is no error. */
function save(script: vm.Script, cacheFile: string): void {
  const temp = `${cacheFile}.${process.pid}`;
  try {
    writeFileSync(temp, script.createCachedData());
    renameSync(temp, cacheFile);
  } catch {
    // Read-only install, full disk: the next run compiles again.
  }
}

/** Node's version and flags, as a short name: a cache made under other flags would be rejected anyway. */
function signature(): string {
  let hash = 5381;
  for (const char of `${process.version} ${process.execArgv.join(" ")}`) hash = ((hash * 33) ^ char.charCodeAt(0)) >>> 0;
  return hash.toString(36);
}
