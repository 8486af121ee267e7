import { SessionService } from "../../gen/tether/v1/session_service_pb.js";
import { CliError } from "../cli-error.js";
import { parseCommandLine } from "../command-line.js";
import type { ClientPaths } from "../paths.js";
import { connectToDaemon } from "../transport.js";

export const START_USAGE = `  tether start S...                           start each waiting session's graph now (pueue start, docker start):
                                              whatever it waits for, its --delay/--at time or the sessions of its
                                              --after (not asked again: it runs whatever became of them)`;

/** `tether start S...`: StartSessionNow for each, in turn; the first refused ends the command. */
export async function startSessionCommand(args: string[], paths: ClientPaths): Promise<number> {
  const { positionals } = parseCommandLine({ args, allowPositionals: true, options: {} });
  if (positionals.length === 0) throw new CliError(`usage:\n${START_USAGE}`, 2);
  const { client } = await connectToDaemon(paths);
  for (const ref of positionals) {
    const { session } = await client.unary(SessionService.method.startSessionNow, { name: `sessions/${ref}` });
    process.stdout.write(`started ${session!.id}\n`);
  }
  return 0;
}
