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
