// Bundles the CLI and the daemon with esbuild: the CLI starts fast because it
// loads one file (compiled once: see client/cli-loader.ts), and within it initializes only the command it runs (main.ts
// imports commands dynamically, which esbuild turns into lazy module
// initializers in the same file); the daemon loads only its own code. Native modules
// stay external and load from node_modules.
import { build } from "esbuild";

const common = {
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  sourcemap: "linked",
  logLevel: "warning",
  external: ["better-sqlite3", "node-pty"],
  // Bundled CommonJS dependencies may call require(): give the ESM bundle one.
  banner: { js: "import { createRequire as __tetherCreateRequire } from 'node:module'; const require = __tetherCreateRequire(import.meta.url);" },
};

await Promise.all([
  // The CLI as one CommonJS script, which its entry (client/cli-loader.ts, built
  // as dist/tether.mjs) runs with V8's code cache; import.meta.url is its own file's URL.
  build({
    ...common,
    format: "cjs",
    define: { "import.meta.url": "__tetherUrl" },
    banner: { js: "const __tetherUrl = require('node:url').pathToFileURL(__filename).href;" },
    entryPoints: { cli: "client/main.ts" },
    outdir: "dist",
    outExtension: { ".js": ".cjs" },
  }),
  build({ ...common, entryPoints: { tether: "client/cli-loader.ts" }, outdir: "dist", outExtension: { ".js": ".mjs" } }),
  build({ ...common, entryPoints: { daemon: "daemon/entry.ts" }, outdir: "dist", outExtension: { ".js": ".mjs" } }),
  // The daemon's process starter (daemon/process/spawner.ts): a separate small process.
  build({ ...common, entryPoints: { spawner: "daemon/process/spawner-helper.ts" }, outdir: "dist", outExtension: { ".js": ".mjs" } }),
]);
