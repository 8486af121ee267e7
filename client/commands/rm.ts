import { parseCommandLine } from "../command-line.js";
import type { GrpcClient } from "../grpc-client.js";
import { SessionStatus, type Session } from "../../gen/tether/v1/session_pb.js";
import { SessionService } from "../../gen/tether/v1/session_service_pb.js";
import { allPages } from "../all-pages.js";
import { CliError } from "../cli-error.js";
import { endedBeforeFlag } from "../flags.js";
import type { ClientPaths } from "../paths.js";
import { endedBy, removeAll, removeEach } from "../remove-each.js";
import { connectToDaemon } from "../transport.js";

export const RM_USAGE = `  tether rm S...                              remove ended sessions with their whole history and output
  tether rm --ended [--older-than 7d] [--task T] [--label k=v|k ...] [-s]
                                              remove every ended session (ended that long ago; of that task;
                                              with those labels); -s/--successful: those closed with exit code 0
                                              alone, as pueue clean -s (the failures stay to look into)`;

/** `tether rm S...` and `tether rm --ended`: removes ended sessions, saying what their output took. */
export async function rmCommand(args: string[], paths: ClientPaths): Promise<number> {
  const { values, positionals } = parseCommandLine({
    args,
    allowPositionals: true,
    options: {
      ended: { type: "boolean", default: false },
      "older-than": { type: "string" },
      task: { type: "string", default: "" },
      label: { type: "string", short: "l", multiple: true, default: [] },
      successful: { type: "boolean", short: "s", default: false },
    },
  });
  const filtered = values["older-than"] !== undefined || values.task !== "" || values.label.length > 0 || values.successful;
  if (values.ended === (positionals.length > 0) || (filtered && !values.ended)) throw new CliError(`usage:\n${RM_USAGE}`, 2);
  const { client } = await connectToDaemon(paths);
  const remove = async (ref: string): Promise<{ id: string; outputBytes: bigint }> => {
    const { session, outputBytes } = await client.unary(SessionService.method.deleteSession, { name: `sessions/${ref}` });
    return { id: session!.id, outputBytes };
  };
  if (!values.ended) return removeEach(positionals, remove);
  const sessions = await endedSessions(client, values.task, values.label, endedBeforeFlag(values["older-than"]));
  return removeAll(sessions.filter((s) => !values.successful || (s.status === SessionStatus.CLOSED && s.exitCode === 0)).map((s) => s.id), remove, values.successful ? "successful session(s)" : "ended session(s)");
}

/** The sessions that are not open, of `task` when given, with every label selected, that ended at or before `cutoff`. */
async function endedSessions(client: GrpcClient, task: string, labelSelector: readonly string[], cutoff: number): Promise<Session[]> {
  const sessions = await allPages(async (pageToken) => {
    const page = await client.unary(SessionService.method.listSessions, { pageSize: 1000, pageToken, task, labelSelector: [...labelSelector] });
    return { items: page.sessions, nextPageToken: page.nextPageToken };
  });
  return sessions.filter((s) => s.status !== SessionStatus.OPEN && endedBy(s.endTime, cutoff));
}
