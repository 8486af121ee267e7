import { Code } from "@connectrpc/connect";
import { TetherError, invalidArgument, type ErrorReasonName } from "../errors.js";
import { uniqueMatch } from "../ids.js";

/** How a kind of workspace process (exec, PTY) is named in references and errors. */
export interface ProcessKind {
  /** The field, the metadata key and the CLI's command: "exec", "pty". */
  readonly field: string;
  /** The kind in prose: "exec", "PTY". */
  readonly noun: string;
  readonly plural: string;
  /** The collection in resource names: workspaces/{ws}/{collection}/{id}. */
  readonly collection: string;
  readonly notFoundReason: ErrorReasonName;
}

/** Where records of one kind are found: the live ones first, then the stored ones. */
export interface ProcessLookup<T> {
  live(id: string): T | undefined;
  stored(id: string): T | undefined;
  storedByPrefix(prefix: string): T[];
  /** The record a name names: the live one's, else the newest that had it. */
  byName(name: string): T | undefined;
}

/**
 * The record a reference names: `workspaces/{ws}/{collection}/{id}`, an id, a
 * name, or a unique id prefix, in that order; the
 * live record when the process still runs.
 */
export function findProcess<T extends { readonly id: string }>(ref: string, kind: ProcessKind, lookup: ProcessLookup<T>): T {
  const key = ref.includes(`/${kind.collection}/`) ? ref.slice(ref.lastIndexOf("/") + 1) : ref;
  if (key === "") throw invalidArgument(kind.field, `name the ${kind.noun}: its id, its name or an id prefix (tether ${kind.field} ls lists them)`);
  const named = (): T | undefined => {
    const record = lookup.byName(key);
    return record === undefined ? undefined : (lookup.live(record.id) ?? record);
  };
  const found = lookup.live(key) ?? lookup.stored(key) ?? named();
  if (found !== undefined) return found;
  const match = uniqueMatch(
    lookup.storedByPrefix(key),
    () => new TetherError(Code.NotFound, kind.notFoundReason, `no ${kind.field} ${JSON.stringify(key)}: tether ${kind.field} ls lists them`, { [kind.field]: key }),
    (candidates) => new TetherError(Code.InvalidArgument, "INVALID_ARGUMENT", `${JSON.stringify(key)} matches several ${kind.plural} (${candidates}): type more of the id`, { field: kind.field, candidates }),
  );
  return lookup.live(match.id) ?? match;
}
