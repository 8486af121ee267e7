import { Code } from "@connectrpc/connect";
import { TetherError } from "../errors.js";
import { canonicalInputValue, checkInputValue } from "../tasks/task-file.js";
import type { InputDef } from "../tasks/types.js";
import { SECRET_PLACEHOLDER } from "./types.js";
import { meantThen } from "../../common/closest-word.js";

/** Fills defaults, checks types, and splits secrets off: they are never stored. */
export function resolveInputs(
  declared: readonly InputDef[],
  given: Readonly<Record<string, string>>,
): { inputs: Record<string, string>; secrets: Record<string, string>; secretNames: string[] } {
  const byName = new Map<string, InputDef>();
  for (const def of declared) byName.set(def.name, def);
  for (const name of Object.keys(given)) {
    if (!byName.has(name)) {
      throw new TetherError(
        Code.InvalidArgument,
        "INPUT_INVALID",
        `unknown input ${JSON.stringify(name)}: ${meantThen(name, [...byName.keys()], `this task graph declares ${[...byName.keys()].join(", ") || "no inputs"}`)}`,
        { input: name },
      );
    }
  }
  const inputs: Record<string, string> = {};
  const secrets: Record<string, string> = {};
  const secretNames: string[] = [];
  for (const def of byName.values()) {
    // Own keys only: an input named constructor is not Object's.
    const raw = Object.hasOwn(given, def.name) ? given[def.name] : def.default;
    if (raw === undefined) {
      throw new TetherError(Code.InvalidArgument, "INPUT_INVALID", `missing required input ${def.name}: pass --input ${def.name}=VALUE`, { input: def.name });
    }
    const problem = checkInputValue(def, raw);
    if (problem !== undefined) throw new TetherError(Code.InvalidArgument, "INPUT_INVALID", `input ${def.name}: ${problem}`, { input: def.name });
    const value = canonicalInputValue(def, raw);
    if (def.type === "secret") {
      secrets[def.name] = value;
      secretNames.push(def.name);
      inputs[def.name] = SECRET_PLACEHOLDER;
    } else {
      inputs[def.name] = value;
    }
  }
  return { inputs, secrets, secretNames };
}
