#!/usr/bin/env node
// The installed `tether` command: the CLI built by `npm run build` (its entry
// runs the bundle with V8's code cache, see client/cli-loader.ts).
require("../dist/tether.cjs");
