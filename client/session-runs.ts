import type { Run } from "../gen/tether/v1/session_pb.js";
import { SessionService } from "../gen/tether/v1/session_service_pb.js";
import { allPages } from "./all-pages.js";
import type { GrpcClient } from "./grpc-client.js";

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
