import { RunStatus, SessionActivity, SessionStatus } from "../gen/tether/v1/session_pb.js";
import { TaskInputType } from "../gen/tether/v1/task_pb.js";
import { ExecStatus } from "../gen/tether/v1/exec_pb.js";
import { Materialization, SandboxProfile, WorkspaceState } from "../gen/tether/v1/workspace_pb.js";

/** Lower-case names of the contract's enums, as the CLI prints them ("running", "open"). */
export const runStatusName = (s: RunStatus): string => (RunStatus[s] ?? "unknown").toLowerCase();
export const sessionStatusName = (s: SessionStatus): string => (SessionStatus[s] ?? "unknown").toLowerCase();
export const activityName = (a: SessionActivity): string => (SessionActivity[a] ?? "unknown").toLowerCase();
export const inputTypeName = (t: TaskInputType): string => (TaskInputType[t] ?? "unknown").toLowerCase();
export const sandboxName = (s: SandboxProfile): string => (SandboxProfile[s] ?? "unknown").toLowerCase();
export const workspaceStateName = (s: WorkspaceState): string => (WorkspaceState[s] ?? "unknown").toLowerCase();
export const materializationName = (m: Materialization): string => (Materialization[m] ?? "unknown").toLowerCase();
export const execStatusName = (s: ExecStatus): string => (ExecStatus[s] ?? "unknown").toLowerCase().replaceAll("_", "-");

export function sessionStatusFromName(name: string): SessionStatus | undefined {
  const value = (SessionStatus as unknown as Record<string, SessionStatus>)[name.toUpperCase()];
  return value === undefined || value === SessionStatus.UNSPECIFIED ? undefined : value;
}
