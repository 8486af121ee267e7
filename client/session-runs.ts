import type { MessageInitShape } from "@bufbuild/protobuf";
import type { Run, Session } from "../gen/tether/v1/session_pb.js";
import { SessionService, type WaitSessionRequestSchema } from "../gen/tether/v1/session_service_pb.js";
import { allPages } from "./all-pages.js";
import { whenDaemonStopped, whenTimedOut } from "./cli-error.js";
import type { GrpcClient } from "./grpc-client.js";

/** WaitSession (show --wait, run --wait): the session once it has its outcome, or is ready; past the timeout exit 124, a daemon stopping meanwhile said so. */
export async function waitForSession(client: GrpcClient, request: MessageInitShape<typeof WaitSessionRequestSchema>, shownAs: string): Promise<Session> {
  try {
    return (await client.unary(SessionService.method.waitSession, request)).session!;
  } catch (error) {
    throw whenDaemonStopped(whenTimedOut(error), `waiting for session ${shownAs}${request.untilReady === true ? " to be ready" : ""}`);
  }
}

/** Every run of session `name` ("sessions/ID"), in order: a page at a time, as a long conversation's runs outgrow one message. */
export function sessionRuns(client: GrpcClient, name: string): Promise<Run[]> {
  return allPages(async (pageToken) => {
    const { runs, nextPageToken } = await client.unary(SessionService.method.listRuns, { parent: name, pageToken });
    return { items: runs, nextPageToken };
  });
}

/** The runs `names` names (`sessions/S/runs/N`, a workspace's live runs), with the session each is of. */
export async function liveRuns(client: GrpcClient, names: readonly string[]): Promise<{ session: string; run: Run }[]> {
  const bySession = new Map<string, Set<number>>();
  for (const name of names) {
    const [, session, , run] = name.split("/") as [string, string, string, string];
    bySession.set(session, (bySession.get(session) ?? new Set()).add(Number(run)));
  }
  const found: { session: string; run: Run }[] = [];
  for (const [session, numbers] of bySession) {
    const runs = await sessionRuns(client, `sessions/${session}`);
    for (const run of runs) if (numbers.has(run.number)) found.push({ session, run });
  }
  return found;
}
