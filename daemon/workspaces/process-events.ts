import type { Events } from "../events.js";

/** What events say of an exec or a PTY: the fields both records have. */
interface ReportedProcess {
  readonly id: string;
  readonly workspaceId: string;
  readonly name?: string | undefined;
  readonly queue?: string | undefined;
  readonly status: string;
  readonly exitCode: number | undefined;
  readonly signal: string | undefined;
  readonly error: string | undefined;
  readonly labels: Readonly<Record<string, string>>;
}

/**
 * Reports a change of an exec or a PTY (EventService): `action` with its
 * workspace, name (and queue), its status and how it ended, and `more`.
 */
export function reportProcess(events: Events, type: "exec" | "pty", action: string, process: ReportedProcess, more: Record<string, string> = {}): void {
  const attributes: Record<string, string> = { workspace: process.workspaceId, status: process.status };
  if (process.name !== undefined) attributes["name"] = process.name;
  if (process.queue !== undefined) attributes["queue"] = process.queue;
  if (process.exitCode !== undefined) attributes["exit_code"] = String(process.exitCode);
  if (process.signal !== undefined) attributes["signal"] = process.signal;
  if (process.error !== undefined) attributes["reason"] = process.error;
  events.publish({ type, action, id: process.id, attributes: { ...attributes, ...more }, labels: process.labels });
}
