import type { ParseArgsConfig } from "node:util";
import { CliError } from "./cli-error.js";

/** What every listing (ls, exec ls, pty ls, ws ls) prints besides its table: --json, or -q/--quiet's ids only (docker ps -q). */
export const LISTING_FLAGS = {
  json: { type: "boolean", default: false },
  quiet: { type: "boolean", short: "q", default: false },
} satisfies NonNullable<ParseArgsConfig["options"]>;

/**
 * Prints `items` as --json (one array) or -q (each id on a line of its
 * own, for `xargs` and `$(...)`) asks; false when neither does, and the
 * caller prints its table.
 */
export function printedAs<T>(values: { readonly json: boolean; readonly quiet: boolean }, items: readonly T[], id: (item: T) => string, json: (item: T) => unknown): boolean {
  if (values.json && values.quiet) throw new CliError("-q prints the ids alone and --json everything: give one of them", 2);
  if (values.json) process.stdout.write(`${JSON.stringify(items.map(json))}\n`);
  else if (values.quiet) process.stdout.write(items.map((item) => `${id(item)}\n`).join(""));
  return values.json || values.quiet;
}
