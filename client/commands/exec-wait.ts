import { timestampMs } from "@bufbuild/protobuf/wkt";
import type { Exec } from "../../gen/tether/v1/exec_pb.js";
import { ExecService } from "../../gen/tether/v1/exec_service_pb.js";
import { formatMs } from "../../common/format.js";
import { usageError, whenDaemonStopped, whenTimedOut } from "../cli-error.js";
import { parseCommandLine } from "../command-line.js";
import { parseDurationFlag } from "../flags.js";
import type { ClientPaths } from "../paths.js";
import { connectToDaemon } from "../transport.js";
import { execEndLine, execExitCode } from "../exec-output.js";
import { EXEC_USAGE } from "./exec.js";
import { execJson, execSelector, namedOrSelected, selects } from "./exec-list.js";

/**
 * `tether exec wait E... | --label k=v | --queue Q`: block until each exec has ended for
 * good (its restarts too), as docker wait and pueue wait; a line for each as
 * it ends. Exits with the exec's code; with several, 0 when every one
 * exited 0, else the code of the first named that did not. With --ready,
 * until each is ready (WaitExec until_ready): 0, or the daemon's
 * EXEC_NOT_READY for the first that will not be (exit 1).
 */
export async function waitExecs(args: string[], paths: ClientPaths): Promise<number> {
  const { values, positionals } = parseCommandLine({
    args,
    allowPositionals: true,
    options: { label: { type: "string", short: "l", multiple: true, default: [] }, queue: { type: "string" }, ready: { type: "boolean", default: false }, timeout: { type: "string" }, json: { type: "boolean", default: false } },
  });
  const selector = execSelector(values);
  if (selects(selector) ? positionals.length > 0 : positionals.length === 0) throw usageError(EXEC_USAGE, "tether exec wait");
  const timeout = values.timeout === undefined ? undefined : parseDurationFlag("--timeout", values.timeout);
  const { client } = await connectToDaemon(paths);
  // With labels or a queue, the running (and queued) ones as the listing has them now.
  const refs = await namedOrSelected(client, positionals, selector);
  const ended = await Promise.all(
    refs.map(async (ref) => {
      try {
        const { exec } = await client.unary(ExecService.method.waitExec, { exec: ref, timeout, untilReady: values.ready });
        process.stdout.write(values.json ? `${JSON.stringify(execJson(exec!))}\n` : `${values.ready ? readyLine(exec!) : execEndLine(exec!)}\n`);
        return exec!;
      } catch (error) {
        throw whenDaemonStopped(whenTimedOut(error), `waiting for exec ${ref}`);
      }
    }),
  );
  return values.ready ? 0 : (ended.map(execExitCode).find((code) => code !== 0) ?? 0);
}

/** An exec that is ready, as exec wait --ready says it: "e-8f2k1 (web) ready 1.2s after its start". */
function readyLine(e: Exec): string {
  const after = e.readyTime === undefined || e.startTime === undefined ? "" : ` ${formatMs(timestampMs(e.readyTime) - timestampMs(e.startTime))} after its start`;
  return `${e.id}${e.displayName === "" ? "" : ` (${e.displayName})`} ready${after}`;
}
