import type { ServiceImpl } from "@connectrpc/connect";
import type { WorkspaceService } from "../../gen/tether/v1/workspace_service_pb.js";
import { parseLabelSelectors } from "../workspaces/labels.js";
import type { Workspaces } from "../workspaces/workspaces.js";
import { stopGraceMs } from "./durations.js";
import { nextPageToken, numericPageToken, pageSize } from "./paging.js";
import { sandboxFromProto, workspaceToProto } from "./workspace-proto.js";

/** Handlers for tether.v1.WorkspaceService: proto in, domain call, proto out. */
export function createWorkspaceService(workspaces: Workspaces): ServiceImpl<typeof WorkspaceService> {
  return {
    async createWorkspace(req) {
      const ws = await workspaces.create({ name: req.displayName, root: req.root, sandbox: sandboxFromProto(req.sandbox), noNetwork: req.noNetwork, labels: req.labels, env: req.env, copyFrom: req.copyFrom });
      return { workspace: workspaceToProto(ws) };
    },
    getWorkspace(req) {
      return { workspace: workspaceToProto(workspaces.get(req.workspace)) };
    },
    listWorkspaces(req) {
      const size = pageSize(req.pageSize);
      const after = numericPageToken(req.pageToken, 0);
      const page = workspaces.list(after, size + 1, req.showArchived, parseLabelSelectors(req.labelSelector));
      return { workspaces: page.slice(0, size).map(workspaceToProto), nextPageToken: nextPageToken(page, size, (ws) => String(ws.seq)) };
    },
    updateWorkspace(req) {
      return { workspace: workspaceToProto(workspaces.update(req.workspace, { setLabels: req.setLabels, removeLabels: req.removeLabels, setEnv: req.setEnv, removeEnv: req.removeEnv })) };
    },
    async deleteWorkspace(req) {
      return { workspace: workspaceToProto(await workspaces.delete(req.workspace, req.force, stopGraceMs(req.grace))) };
    },
    async stopWorkspace(req) {
      const { workspace, stopped } = await workspaces.stop(req.workspace, stopGraceMs(req.grace));
      return { workspace: workspaceToProto(workspace), stopped };
    },
  };
}
