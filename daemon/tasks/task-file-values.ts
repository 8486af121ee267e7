import { isScalar, isSeq, type Node } from "yaml";
import { parseSize } from "../../common/sizes.js";
import { outputLimitProblem } from "../process/output-limit.js";
import { parseDuration } from "./duration.js";
import type { Report } from "./template-checks.js";

// Readers of a task file's values: each returns what the node holds, or reports at it what it must be (`what`: its key) and returns the fallback.

export function optionalString(node: Node | undefined, report: Report, what: string): string | undefined {
  if (node === undefined || (isScalar(node) && node.value === null)) return undefined;
  if (isScalar(node) && (typeof node.value === "string" || typeof node.value === "number" || typeof node.value === "boolean")) return String(node.value);
  report(node, `${what} must be a string`);
  return undefined;
}

export function stringList(node: Node | undefined, report: Report, what: string): string[] {
  if (node === undefined || (isScalar(node) && node.value === null)) return [];
  if (isScalar(node) && typeof node.value === "string") return [node.value];
  if (isSeq(node) && node.items.every((i) => isScalar(i) && i.value !== null && typeof i.value !== "object")) {
    return node.items.map((i) => String((i as { value: unknown }).value));
  }
  report(node, `${what} must be a list of strings`);
  return [];
}

export function integer(node: Node | undefined, fallback: number, report: Report, what: string): number {
  if (node === undefined) return fallback;
  if (isScalar(node) && typeof node.value === "number" && Number.isInteger(node.value) && node.value >= 0) return node.value;
  report(node, `${what} must be a whole number of 0 or more`);
  return fallback;
}

export function duration(node: Node | undefined, fallback: number, report: Report, what: string): number {
  if (node === undefined) return fallback;
  const ms = isScalar(node) ? parseDuration(node.value) : undefined;
  if (ms === undefined) report(node, `${what} must be a duration such as 30s, 10m or 1h30m`);
  return ms ?? fallback;
}

/** A size in bytes: 100M, 1G (or a number of bytes); 0 when absent. At least the least output kept (output-limit.ts). */
export function size(node: Node | undefined, report: Report, what: string): number {
  if (node === undefined) return 0;
  const bytes = isScalar(node) && (typeof node.value === "string" || typeof node.value === "number") ? parseSize(String(node.value)) : undefined;
  if (bytes === undefined) {
    report(node, `${what} must be a size such as 100M, 1G or 512k`);
    return 0;
  }
  const problem = outputLimitProblem(bytes, what);
  if (problem !== undefined) report(node, problem);
  return problem === undefined ? bytes : 0;
}

export function boolean(node: Node | undefined, report: Report, what: string): boolean {
  if (node === undefined) return false;
  if (isScalar(node) && typeof node.value === "boolean") return node.value;
  report(node, `${what} must be true or false`);
  return false;
}
