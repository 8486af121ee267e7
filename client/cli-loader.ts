/**
 * The CLI's entry, dist/tether.cjs: runs the bundled CLI (dist/cli.cjs) with
 * V8's code cache, so a command does not compile the CLI again on every
 * start (~10 ms of ~120 here; Node 20 has no module compile cache, that came
 * with NODE_COMPILE_CACHE in Node 22). The cache is written beside the
 * bundle by a run that found none, or one V8 rejected (a new build, another
 * Node), and succeeded: one per set of node flags, which V8 checks too, and
 * one per command, since a cache holds the functions its run compiled (a
 * command run from another's cache compiled its own code again, ~1.5 ms of
 * `exec`). Where it cannot be written (a read-only install) the CLI runs as
 * it would without it. The entry is
 * CommonJS, as the bin script that requires it: an ES module entry costs every
 * command Node's ES module loader (~3 ms here).
 */
import { readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import vm from "node:vm";

const bundle = fileURLToPath(new URL("./cli.cjs", import.meta.url));
const cacheFile = join(dirname(bundle), `cli-${signature()}-${commandName()}.cache`);
const source = readFileSync(bundle, "utf8");
const stamp = Buffer.from(`${bundleStamp(bundle)}\n`);
const cachedData = readCache(cacheFile, stamp);
const wrapped = `(function (exports, require, module, __filename, __dirname) {${source}\n})`;
// The main context's loader lets the bundle's own dynamic import (`tether daemon run` loads the daemon) work from a vm script.
const script = new vm.Script(wrapped, { filename: bundle, cachedData, importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER });
if (cachedData === undefined || script.cachedDataRejected === true) process.once("exit", (code) => code === 0 && save(script, cacheFile, stamp));
const module = { exports: {} };
(script.runInThisContext() as (...args: unknown[]) => void)(module.exports, createRequire(bundle), module, bundle, dirname(bundle));

/**
 * The cache of this very bundle, or undefined. V8 checks a cache against its
 * source by the source's length only: a cache made from another build of the
 * same length would be accepted, and run that build's code. So the cache
 * starts with a line naming the bundle file it was made from, and any other is
 * not used.
 */
function readCache(cacheFile: string, stamp: Buffer): Buffer | undefined {
  let data: Buffer;
  try {
    data = readFileSync(cacheFile);
  } catch {
    return undefined;
  }
  return data.subarray(0, stamp.length).equals(stamp) ? data.subarray(stamp.length) : undefined;
}

/**
 * The bundle file as written by its build: size, modification and change
 * times in nanoseconds, inode (as Python's .pyc files name their source, by
 * size and mtime). Every build writes the file anew; hashing its text instead
 * cost ~1.5 ms of every command.
 */
function bundleStamp(file: string): string {
  const stat = statSync(file, { bigint: true });
  return `${stat.size}:${stat.mtimeNs}:${stat.ctimeNs}:${stat.ino}`;
}

/** Writes the cache of everything compiled so far, after its stamp, atomically (other CLIs may start at the same moment); a failure is no error. */
function save(script: vm.Script, cacheFile: string, stamp: Buffer): void {
  const temp = `${cacheFile}.${process.pid}`;
  try {
    writeFileSync(temp, Buffer.concat([stamp, script.createCachedData()]));
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

/** The command this run is (`exec`, `daemon`, ...), as a file name's part; `other` for anything else. */
function commandName(): string {
  const command = process.argv[2] ?? "";
  return /^[a-z]{1,16}$/.test(command) ? command : "other";
}
