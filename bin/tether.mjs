#!/usr/bin/env node
// The installed `tether` command: the bundled CLI built by `npm run build`.
import "../dist/tether.mjs";
