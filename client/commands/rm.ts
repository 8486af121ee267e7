import { parseArgs } from "node:util";
import { SessionService } from "../../gen/tether/v1/session_service_pb.js";
import { CliError } from "../cli-error.js";
import type { ClientPaths } from "../paths.js";
import { removeEach } from "../remove-each.js";
import { connectToDaemon } from "../transport.js";

export const RM_USAGE = `  tether rm S...                              remove ended sessions with their whole history and output`;

/** `tether rm S...`: removes ended sessions, each with what its output took. */
export async function rmCommand(args: string[], paths: ClientPaths): Promise<number> {
  const { positionals } = parseArgs({ args, allowPositionals: true, options: {} });
  if (positionals.length === 0) throw new CliError(`usage:\n${RM_USAGE}`, 2);
  const { client } = await connectToDaemon(paths);
  return removeEach(positionals, async (ref) => {
    const { session, outputBytes } = await client.unary(SessionService.method.deleteSession, { name: `sessions/${ref}` });
    return { id: session!.id, outputBytes };
  });
}
