import { parseCommandLine } from "../command-line.js";
import { SessionStatus } from "../../gen/tether/v1/session_pb.js";
import { SessionService } from "../../gen/tether/v1/session_service_pb.js";
import { CliError } from "../cli-error.js";
import { enumName } from "../enum-names.js";
import type { ClientPaths } from "../paths.js";
import { connectToDaemon } from "../transport.js";

export const END_USAGE = `  tether cancel S [--reason TEXT]             stop a session's work (SIGTERM, then SIGKILL)
  tether close S                              end a session whose graph has finished (stops its ready services;
                                              one still running is refused: cancel it)`;

/** `tether cancel S` and `tether close S`. */
export async function endSessionCommand(how: "cancel" | "close", args: string[], paths: ClientPaths): Promise<number> {
  const { values, positionals } = parseCommandLine({ args, allowPositionals: true, options: { reason: { type: "string", default: "" } } });
  if (positionals.length !== 1) throw new CliError(`usage:\n${END_USAGE}`, 2);
  const { client } = await connectToDaemon(paths);
  const name = `sessions/${positionals[0]}`;
  const { session } =
    how === "cancel"
      ? await client.unary(SessionService.method.cancelSession, { name, reason: values.reason })
      : await client.unary(SessionService.method.closeSession, { name });
  process.stdout.write(`${session!.id} ${enumName(SessionStatus, session!.status)}\n`);
  return 0;
}
