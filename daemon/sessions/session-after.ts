import { invalidArgument } from "../errors.js";
import type { SessionRecord } from "./types.js";

/** How many sessions one may start after (run --after), as an exec's --after. */
const AFTER_MAX = 100;

/** The sessions a new one is to start after (run --after), as ids, each once: each ref found by `find` (an id or a unique prefix). */
export function resolveAfter(refs: readonly string[], find: (ref: string) => SessionRecord): string[] {
  if (refs.length > AFTER_MAX) throw invalidArgument("after", `a session starts after at most ${AFTER_MAX} others, not ${refs.length}: a task file's graph holds larger ones (upstream:)`);
  if (refs.some((ref) => ref === "" || ref === "sessions/")) throw invalidArgument("after", "after names the sessions to start after, each by its id or a unique prefix: one was empty");
  return [...new Set(refs.map((ref) => find(ref).id))];
}

/**
 * Why a session must not start after session `id` (SessionEnded): resolves
 * once that one has ended and its end is durable (`live` while it runs),
 * with undefined when it closed with exit code 0, as pueue's dependants
 * start only after a success; else its end in words, or that it is gone
 * (removed, tether rm). Undefined at once when `signal` aborts.
 */
export async function whyNotAfter(
  id: string,
  signal: AbortSignal,
  find: (id: string) => SessionRecord,
  live: (id: string) => { waitRetired(signal: AbortSignal): Promise<void> } | undefined,
): Promise<string | undefined> {
  await live(id)?.waitRetired(signal);
  if (signal.aborted) return undefined;
  let ended: SessionRecord;
  try {
    ended = find(id);
  } catch (error) {
    return `session ${id}, which it was to start after, is gone (${(error as Error).message})`;
  }
  if (ended.status === "closed" && ended.exitCode === 0) return undefined;
  const how = ended.status === "closed" ? "failed" : ended.status === "cancelled" ? "was cancelled" : ended.status;
  return `session ${id}, which it was to start after, ${how} (exit code ${ended.exitCode ?? "none"}${ended.error === undefined || ended.error === "" ? "" : `: ${ended.error}`})`;
}
