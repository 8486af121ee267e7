import { parseCommandLine } from "../command-line.js";
import { SessionStatus } from "../../gen/tether/v1/session_pb.js";
import { SessionService } from "../../gen/tether/v1/session_service_pb.js";
import { allPages } from "../all-pages.js";
import { CliError } from "../cli-error.js";
import { enumName } from "../enum-names.js";
import type { ClientPaths } from "../paths.js";
import { connectToDaemon } from "../transport.js";

export const END_USAGE = `  tether cancel S [--reason TEXT]             stop a session's work (SIGTERM, then SIGKILL)
  tether cancel --label k=v|k ... [--reason TEXT]
                                              cancel every open session with those labels
  tether close S                              end a session whose graph has finished (stops its ready services;
                                              one still running is refused: cancel it)`;

/** `tether cancel S` and `tether close S`. */
export async function endSessionCommand(how: "cancel" | "close", args: string[], paths: ClientPaths): Promise<number> {
  const { values, positionals } = parseCommandLine({
    args,
    allowPositionals: true,
    options: { reason: { type: "string", default: "" }, label: { type: "string", short: "l", multiple: true, default: [] } },
  });
  const byLabel = how === "cancel" && values.label.length > 0;
  if (positionals.length !== (byLabel ? 0 : 1) || (how === "close" && values.label.length > 0)) throw new CliError(`usage:\n${END_USAGE}`, 2);
  const { client } = await connectToDaemon(paths);
  const end = async (id: string): Promise<void> => {
    const name = `sessions/${id}`;
    const { session } =
      how === "cancel"
        ? await client.unary(SessionService.method.cancelSession, { name, reason: values.reason })
        : await client.unary(SessionService.method.closeSession, { name });
    process.stdout.write(`${session!.id} ${enumName(SessionStatus, session!.status)}\n`);
  };
  if (!byLabel) {
    await end(positionals[0]!);
    return 0;
  }
  // Every open one with those labels (an agent's, a CI job's), as docker stop $(docker ps -q -f label=...).
  const open = await allPages(async (pageToken) => {
    const page = await client.unary(SessionService.method.listSessions, { pageSize: 1000, pageToken, status: SessionStatus.OPEN, labelSelector: values.label });
    return { items: page.sessions, nextPageToken: page.nextPageToken };
  });
  if (open.length === 0) process.stderr.write(`no open session has the labels ${values.label.join(", ")}\n`);
  for (const session of open) await end(session.id);
  return 0;
}
