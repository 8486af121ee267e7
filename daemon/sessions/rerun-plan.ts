import { dirname } from "node:path";
import { Code } from "@connectrpc/connect";
import { TetherError } from "../errors.js";
import type { SessionPlan } from "./start-options.js";
import type { SessionRecord } from "./types.js";

/**
 * What a rerun of session `original` runs (Sessions.rerun): the graph it
 * recorded, its inputs with `inputs` over them (each secret one given
 * again: it was never stored), its workspace (the task file's directory,
 * adopted again by the new session if it was that and `active` says it is
 * removed now) and the workspaces its tasks pinned, and its options. It
 * starts now: not at a start time the original waited for.
 */
export function rerunPlan(original: SessionRecord, inputs: Readonly<Record<string, string>>, externalId: string, active: (workspaceId: string) => boolean): SessionPlan {
  const { spec } = original;
  const secrets = new Set(spec.secretInputs);
  const notGiven = spec.secretInputs.filter((name) => inputs[name] === undefined);
  if (notGiven.length > 0) {
    throw new TetherError(
      Code.InvalidArgument,
      "INPUT_INVALID",
      `session ${original.id}'s secret input${notGiven.length > 1 ? "s" : ""} ${notGiven.join(", ")} ${notGiven.length > 1 ? "were" : "was"} never stored: give ${notGiven.length > 1 ? "them" : "it"} again (--input ${notGiven[0]}=VALUE)`,
      { input: notGiven[0]! },
    );
  }
  const kept = Object.fromEntries(Object.entries(spec.inputs).filter(([name]) => !secrets.has(name)));
  // The task file's directory, adopted as a host workspace by default and removed since: adopted again, as tether run would.
  const ws = spec.workspace;
  const readopt = ws !== undefined && ws.root === dirname(spec.taskFile) && ws.sandbox === "host" && !active(ws.id);
  return {
    task: original.task,
    taskFile: spec.taskFile,
    graph: spec.tasks,
    inputs: { ...kept, ...inputs },
    externalId,
    parallelism: spec.parallelism,
    failFast: spec.failFast,
    ttlMs: spec.ttlMs,
    idleTimeoutMs: spec.idleTimeoutMs,
    workspace: readopt ? "" : (ws?.id ?? ""),
    rerunOf: original.id,
    labels: original.labels,
    outputMaxBytes: spec.outputMaxBytes ?? 0,
    env: spec.env,
    force: spec.force === true,
    taskWorkspaces: Object.fromEntries(Object.entries(spec.taskWorkspaces ?? {}).map(([task, pinned]) => [task, pinned.id])),
  };
}
