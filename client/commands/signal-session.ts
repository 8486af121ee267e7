import { SessionService } from "../../gen/tether/v1/session_service_pb.js";
import { CliError } from "../cli-error.js";
import { parseCommandLine } from "../command-line.js";
import type { ClientPaths } from "../paths.js";
import { connectToDaemon } from "../transport.js";

export const SIGNAL_USAGE = `  tether kill S [--signal SIG] [--task T]     signal a session's live runs' process groups (default SIGTERM), as
                                              docker kill: HUP to a server that reloads on it; a run it ends fails
                                              as a crash does (retried if it may be): tether cancel stops the session
  tether pause S [--task T]                   stop its live runs where they are (SIGSTOP), as pueue pause: they hold
                                              their memory and take no CPU; tether show says (paused)
  tether resume S [--task T]                  let its paused runs go on (SIGCONT), as pueue start`;

/** `tether kill`, `tether pause` and `tether resume`: SignalSession with the signal each names. */
export async function signalSessionCommand(how: "kill" | "pause" | "resume", args: string[], paths: ClientPaths): Promise<number> {
  const { values, positionals } = parseCommandLine({
    args,
    allowPositionals: true,
    options: { task: { type: "string", default: "" }, ...(how === "kill" ? { signal: { type: "string", short: "s", default: "SIGTERM" } } : {}) },
  });
  if (positionals.length !== 1) throw new CliError(`usage:\n${SIGNAL_USAGE}`, 2);
  const given = String(values.signal).toUpperCase();
  const signal = how === "pause" ? "SIGSTOP" : how === "resume" ? "SIGCONT" : /^\d+$|^SIG/.test(given) ? given : `SIG${given}`;
  const { client } = await connectToDaemon(paths);
  const { runs } = await client.unary(SessionService.method.signalSession, { name: `sessions/${positionals[0]!}`, signal, task: values.task });
  const id = runs[0]?.name.split("/")[1] ?? positionals[0]!;
  const done = how === "pause" ? "paused" : how === "resume" ? "resumed" : `sent ${signal} to`;
  for (const run of runs) process.stdout.write(`${done} run ${run.number} (${run.task}) of ${id}\n`);
  return 0;
}
