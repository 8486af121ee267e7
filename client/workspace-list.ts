import type { Workspace } from "../gen/tether/v1/workspace_pb.js";
import { WorkspaceService } from "../gen/tether/v1/workspace_service_pb.js";
import { allPages } from "./all-pages.js";
import type { GrpcClient } from "./grpc-client.js";

/** Every workspace, page by page (removed ones too with `showArchived`; with label selectors, those matching every one). */
export function listAllWorkspaces(client: GrpcClient, showArchived: boolean, labelSelector: readonly string[] = []): Promise<Workspace[]> {
  return allPages(async (pageToken) => {
    const page = await client.unary(WorkspaceService.method.listWorkspaces, { pageSize: 1000, pageToken, showArchived, labelSelector: [...labelSelector] });
    return { items: page.workspaces, nextPageToken: page.nextPageToken };
  });
}

/**
 * How a listing names each workspace: by the name its user gave it, as
 * `docker ps` names containers (ids are in `tether ws ls`), or by its id when
 * it has none here.
 */
export async function workspaceLabels(client: GrpcClient): Promise<(id: string) => string> {
  const names = new Map((await listAllWorkspaces(client, true)).map((ws) => [ws.id, ws.displayName]));
  return (id) => names.get(id) || id;
}
