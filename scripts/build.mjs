// Bundles the CLI and the daemon with esbuild: the CLI starts fast because it
// loads one file (compiled once: see client/cli-loader.ts), and within it initializes only the command it runs (main.ts
// imports commands dynamically, which esbuild turns into lazy module
// initializers in the same file); the daemon loads only its own code. Native modules
// stay external and load from node_modules, and so does the terminal emulator only
// `pty capture` uses (client/screen-capture.ts), which the CLI's file need not carry.
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { build } from "esbuild";

const common = {
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  sourcemap: "linked",
  logLevel: "warning",
  external: ["better-sqlite3", "node-pty", "@xterm/headless"],
  // Bundled CommonJS dependencies may call require(): give the ESM bundle one.
  banner: { js: "import { createRequire as __tetherCreateRequire } from 'node:module'; const require = __tetherCreateRequire(import.meta.url);" },
};

// CommonJS output, where import.meta.url is its own file's URL.
const cjs = {
  ...common,
  format: "cjs",
  define: { "import.meta.url": "__tetherUrl" },
  banner: { js: "const __tetherUrl = require('node:url').pathToFileURL(__filename).href;" },
  outdir: "dist",
  outExtension: { ".js": ".cjs" },
};

await Promise.all([
  // The CLI as one CommonJS script, which its entry (client/cli-loader.ts, built
  // as dist/tether.cjs) runs with V8's code cache.
  build({ ...cjs, entryPoints: { cli: "client/main.ts" } }),
  // Its entry, CommonJS too (an ES module entry costs a command Node's ES module loader).
  build({ ...cjs, entryPoints: { tether: "client/cli-loader.ts" } }),
  build({ ...common, entryPoints: { daemon: "daemon/entry.ts" }, outdir: "dist", outExtension: { ".js": ".mjs" } }),
  // The process starter where the daemon cannot spawn natively (daemon/process/helper-spawner.ts): a separate small process.
  build({ ...common, entryPoints: { spawner: "daemon/process/spawner-helper.ts" }, outdir: "dist", outExtension: { ".js": ".mjs" } }),
]);

// The build's id (common/build-id.ts): a hash of the bundles, so a client can tell a daemon started from other code.
const hash = createHash("sha256");
for (const bundle of ["cli.cjs", "tether.cjs", "daemon.mjs", "spawner.mjs"]) hash.update(readFileSync(`dist/${bundle}`));
writeFileSync("dist/build-id", `${hash.digest("hex").slice(0, 16)}\n`);
