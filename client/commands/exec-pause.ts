import { ExecStatus } from "../../gen/tether/v1/exec_pb.js";
import { ExecService } from "../../gen/tether/v1/exec_service_pb.js";
import { usageError } from "../cli-error.js";
import { parseCommandLine } from "../command-line.js";
import type { ClientPaths } from "../paths.js";
import { connectToDaemon } from "../transport.js";
import { allExecs, execSelector, selects } from "./exec-list.js";

export const EXEC_PAUSE_USAGE = `  tether exec pause E... | --label k=v|k ... | --queue Q
                                              stop each running one where it is (SIGSTOP to its process group),
                                              as pueue pause: it holds its memory and takes no CPU; exec ls
                                              says (paused); stop, kill and ws stop end it as ever
  tether exec resume E... | --label k=v|k ... | --queue Q
                                              let each paused one go on (SIGCONT), as pueue start does`;

/**
 * `tether exec pause` and `exec resume`: SIGSTOP and SIGCONT to each exec's
 * process group, named or every running one selected (its labels, its
 * queue). A named one that is not running is refused by the daemon (one
 * waiting in its queue is not cancelled: the signal ends nothing).
 */
export async function pauseExecs(args: string[], paths: ClientPaths, resume: boolean): Promise<number> {
  const { values, positionals } = parseCommandLine({
    args,
    allowPositionals: true,
    options: { label: { type: "string", short: "l", multiple: true, default: [] }, queue: { type: "string" } },
  });
  const selector = execSelector(values);
  const command = resume ? "tether exec resume" : "tether exec pause";
  if (selects(selector) ? positionals.length > 0 : positionals.length === 0) throw usageError(EXEC_PAUSE_USAGE, command);
  const { client } = await connectToDaemon(paths);
  const refs = selects(selector) ? (await allExecs(client, "", true, selector)).filter((e) => e.status === ExecStatus.RUNNING).map((e) => e.id) : positionals;
  if (refs.length === 0) process.stderr.write("no running exec has those labels or is in that queue\n");
  for (const ref of refs) {
    const { exec } = await client.unary(ExecService.method.signalExec, { exec: ref, signal: resume ? "SIGCONT" : "SIGSTOP" });
    process.stdout.write(`${resume ? "resumed" : "paused"} ${exec!.id}\n`);
  }
  return 0;
}
