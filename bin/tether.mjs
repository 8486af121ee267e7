#!/usr/bin/env -S node --max-semi-space-size=4
// The installed `tether` command: the bundled CLI built by `npm run build`.
// The node flag is the daemon's (DAEMON_NODE_FLAGS in client/daemon-process.ts),
// here for `tether daemon run`, which runs the daemon in this process.
import "../dist/tether.mjs";
