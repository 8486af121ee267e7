import type { SessionView } from "./types.js";

/**
 * Up to `limit` sessions that `keep` takes, newest first, older than
 * `beforeSeq` (0: from the newest): read a page of `page` (sessions older
 * than its argument, newest first) after another until there are enough or
 * none are left. For a filter the store cannot apply (an activity is
 * derived): a page of the answer holds `limit` whenever there are that many.
 */
export function pagesWhere(page: (beforeSeq: number) => SessionView[], beforeSeq: number, limit: number, keep: (session: SessionView) => boolean): SessionView[] {
  const found: SessionView[] = [];
  for (let before = beforeSeq; ; ) {
    const sessions = page(before);
    found.push(...sessions.filter(keep));
    if (found.length >= limit || sessions.length < limit) return found.slice(0, limit);
    before = sessions.at(-1)!.seq;
  }
}
