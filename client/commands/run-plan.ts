import { toJson, type JsonObject } from "@bufbuild/protobuf";
import { PlanSessionResponseSchema, PlannedCondition, type PlanSessionResponse, type PlannedWorkspace } from "../../gen/tether/v1/session_service_pb.js";
import { enumName } from "../enum-names.js";
import { createStyle } from "../style.js";
import { GROUP_WORDS, taskJson, taskTraits } from "./tasks.js";

/**
 * Prints what `tether run TASK --dry-run` was told a session would run, as
 * make -n prints a build's commands: each task in an order it could start
 * in, its command as its run would show it, what its condition says now,
 * and where it would run. `--json`: the PlanSessionResponse with its proto
 * field names, each task as tether tasks --json prints it.
 */
export function printPlan(plan: PlanSessionResponse, task: string, json: boolean): void {
  if (json) {
    const out = toJson(PlanSessionResponseSchema, plan, { useProtoFieldName: true }) as JsonObject;
    out["tasks"] = plan.tasks.map((t, i) => ({ ...(out["tasks"] as JsonObject[])[i]!, task: taskJson(t.task!), condition: enumName(PlannedCondition, t.condition) }));
    process.stdout.write(`${JSON.stringify(out)}\n`);
    return;
  }
  const style = createStyle(process.stdout);
  const main = plan.workspace;
  const inputs = Object.entries(plan.inputs).map(([name, value]) => `${name}=${value}`);
  const out = [
    style.dim(plan.taskFile),
    `a session of ${task} would run ${plan.tasks.length === 1 ? "1 task" : `${plan.tasks.length} tasks, each after its upstreams`} (--dry-run: nothing started)`,
    ...(inputs.length > 0 ? [`inputs: ${inputs.join(" ")}`] : []),
    `workspace: ${placeText(main)}`,
  ];
  for (const planned of plan.tasks) {
    const def = planned.task!;
    const name = def.name.slice("tasks/".length);
    out.push(`${style.bold(style.task(name))}${def.upstream.length > 0 ? `  after ${def.upstream.join(", ")}` : ""}`);
    out.push(planned.command === "" ? `  ${GROUP_WORDS}` : `  $ ${planned.command.trim().split("\n").join("\n    ")}`);
    const condition = conditionText(planned.condition, def.condition);
    if (condition !== undefined) out.push(`  ${condition}`);
    const root = planned.workspace?.root;
    const traits = [
      ...taskTraits(def).filter((t) => !t.startsWith("cwd ")),
      root !== main?.root ? `in workspace ${placeText(planned.workspace)}` : "",
      planned.workingDirectory !== root ? `runs in ${planned.workingDirectory}` : "",
    ].filter((t) => t !== "");
    if (traits.length > 0) out.push(`  ${traits.join(", ")}`);
  }
  process.stdout.write(`${out.join("\n")}\n`);
}

/** A workspace in a plan: its name and root, or the directory a session would adopt. */
function placeText(place: PlannedWorkspace | undefined): string {
  if (place === undefined) return "";
  return place.name === "" ? `${place.root} (adopted as a workspace when a session starts)` : `${place.displayName} (${place.root})`;
}

function conditionText(condition: PlannedCondition, written: string): string | undefined {
  switch (condition) {
    case PlannedCondition.HOLDS:
      return `when ${written}: true now, it runs`;
    case PlannedCondition.FAILS:
      return `when ${written}: false now, it would be skipped (its downstreams run)`;
    case PlannedCondition.DEFERRED:
      return `when ${written}: decided once its upstreams have run (it reads their xcom)`;
    default:
      return undefined;
  }
}
