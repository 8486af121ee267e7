import { RunStatus, SessionActivity, SessionStatus } from "../gen/tether/v1/session_pb.js";
import { TaskInputType } from "../gen/tether/v1/task_pb.js";

/** Lower-case names of the contract's enums, as the CLI prints them ("running", "open"). */
export const runStatusName = (s: RunStatus): string => (RunStatus[s] ?? "unknown").toLowerCase();
export const sessionStatusName = (s: SessionStatus): string => (SessionStatus[s] ?? "unknown").toLowerCase();
export const activityName = (a: SessionActivity): string => (SessionActivity[a] ?? "unknown").toLowerCase();
export const inputTypeName = (t: TaskInputType): string => (TaskInputType[t] ?? "unknown").toLowerCase();

export function sessionStatusFromName(name: string): SessionStatus | undefined {
  const value = (SessionStatus as unknown as Record<string, SessionStatus>)[name.toUpperCase()];
  return value === undefined || value === SessionStatus.UNSPECIFIED ? undefined : value;
}
