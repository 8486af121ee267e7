// First: protobuf-es looks for Uint8Array.prototype.toBase64 once, when it loads.
import "../common/uint8array-base64.js";
import { TetherError } from "./errors.js";
import { tuneHeap } from "./heap.js";
import { closeInheritedDescriptors } from "./inherited-descriptors.js";
import { log, logLimited, survivingUnwritableOutput } from "./log.js";
import { runDaemon } from "./main.js";

/**
 * The daemon process: `tether daemon start` and `tether daemon run` spawn
 * this file (client/daemon-process.ts). Exit 0 after a graceful stop, 1 when it cannot start
 * (the reason is the last line of the log, which `daemon start` prints).
 */
const inherited = closeInheritedDescriptors();
survivingUnwritableOutput();
if (inherited > 0) log(`closed ${inherited} descriptor(s) inherited from the command that started the daemon (past its stdin, stdout and stderr)`);
// Node ends a process on a rejection nothing handles, and the daemon's live work would end with it
// (its runs recorded lost by the next daemon): a bug, logged with its stack, not a reason to stop serving.
process.on("unhandledRejection", (reason: unknown) => {
  logLimited("unhandled rejection", `a promise was rejected and nothing handled it (a bug in tether: report it with this line): ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}`);
});
tuneHeap();
runDaemon().then(
  () => process.exit(0),
  (error: unknown) => {
    log(`cannot start: ${error instanceof TetherError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
