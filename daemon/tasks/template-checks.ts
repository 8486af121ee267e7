import { isMap, type Node, type YAMLMap } from "yaml";
import { choicesHint, meantThen } from "../../common/closest-word.js";
import { FILTER_NAMES, TEMPLATE_SPACES, isFilter, placeholders } from "./template.js";
import type { Command, TaskDef } from "./types.js";

/** Reports a problem at a node of the task file (its line), as the task file's parser collects them. */
export type Report = (node: Node | null | undefined, message: string) => void;

/**
 * Refuses a placeholder that would render empty whatever the session: one
 * reading what is none of inputs, xcom or env (`{{ input.mode }}`), a
 * matrix value where the task's matrix (`axes`) has no such axis, or
 * passing its value through a filter that does not exist (it would render
 * unfiltered). An input no task declares is checked once all are known
 * (checkInputPlaceholders).
 */
export function checkTemplates(templates: readonly string[], node: Node | undefined, report: Report, axes?: readonly string[]): void {
  const found = templates.flatMap(placeholders);
  for (const key of new Set(found.filter((p) => p.space === "matrix").map((p) => p.key))) {
    if (axes === undefined) report(node, `{{ matrix.${key} }} reads a value of the task's matrix, and it has none: add matrix: { ${key}: [a, b] } to the task`);
    else if (!axes.includes(key)) report(node, `{{ matrix.${key} }} names no axis of the task's matrix; ${choicesHint(key, axes, "axes")}`);
  }
  for (const space of new Set(found.map((p) => p.space).filter((s) => !TEMPLATE_SPACES.includes(s) && s !== "matrix"))) {
    report(node, `unknown placeholder {{ ${space}.… }}: ${meantThen(space, TEMPLATE_SPACES, "a placeholder reads {{ inputs.NAME }}, {{ xcom.TASK }} or {{ env.NAME }}")}`);
  }
  for (const filter of new Set(found.map((p) => p.filter).filter((f): f is string => f !== undefined && !isFilter(f)))) {
    report(node, `unknown template filter "${filter}": the filters are ${FILTER_NAMES.join(", ")} ({{ inputs.NAME | quote }} makes the value one shell word)`);
  }
}

/**
 * Refuses `{{ inputs.NAME }}` where no task of the file declares NAME: a
 * misspelt input rendered empty in silence (and a condition on it was
 * false). Any task's input counts, as a task may run in the graph of one
 * that declares it; xcom keys are not checked, as a run may set any
 * (`tether xcom set`).
 */
export function checkInputPlaceholders(tasksNode: YAMLMap, tasks: ReadonlyMap<string, TaskDef>, report: Report): void {
  const inputs = [...new Set([...tasks.values()].flatMap((task) => task.inputs.map((input) => input.name)))];
  for (const task of tasks.values()) {
    const templated: [string, readonly string[]][] = [
      ["cmd", commandTemplates(task.cmd)],
      ["env", Object.values(task.env)],
      ["condition", task.condition === undefined ? [] : [task.condition]],
    ];
    for (const [key, templates] of templated) {
      const unknown = new Set(templates.flatMap(placeholders).filter((p) => p.space === "inputs" && !inputs.includes(p.key)).map((p) => p.key));
      for (const name of unknown) {
        // Looked up only for a problem: a mapping's get() reads its pairs in turn, and a file of 20,000 tasks took 3.6 s.
        const definition = tasksNode.get(task.name, true);
        const node = isMap(definition) ? (definition.get(key, true) as Node | undefined) : undefined;
        report(node, `task "${task.name}": {{ inputs.${name} }} names no input; ${inputs.length === 0 ? "no task declares inputs: declare it under the task's inputs:" : choicesHint(name, inputs, "inputs")}`);
      }
    }
  }
}

/** The templates of a task's command: its script, or each of its argv (none for a group). */
export function commandTemplates(cmd: Command | undefined): readonly string[] {
  if (cmd === undefined) return [];
  return cmd.kind === "shell" ? [cmd.script] : cmd.argv;
}
