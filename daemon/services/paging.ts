import { invalidArgument } from "../errors.js";

/** Page size when the request leaves it at 0. */
export const DEFAULT_PAGE_SIZE = 100;
/** Larger requests are served this many per page. */
export const MAX_PAGE_SIZE = 1000;

export function pageSize(requested: number, defaultSize = DEFAULT_PAGE_SIZE): number {
  if (requested < 0) throw invalidArgument("page_size", `page_size must be 0 (for the default of ${defaultSize}) or positive`);
  return requested === 0 ? defaultSize : Math.min(requested, MAX_PAGE_SIZE);
}

/**
 * Page tokens are opaque to clients: base64url of the last key of the
 * previous page. Listing resumes strictly after that key.
 */
export function pageToken(token: string): string {
  if (token === "") return "";
  const key = Buffer.from(token, "base64url").toString("utf8");
  if (Buffer.from(key, "utf8").toString("base64url") !== token) {
    throw invalidArgument("page_token", "page_token is not one this daemon issued: pass the next_page_token of the previous page, or empty for the first page");
  }
  return key;
}

/** A page token whose key is a number (a seq, a run number): that number, or `first` for the first page. */
export function numericPageToken(token: string, first: number): number {
  const key = pageToken(token);
  const after = key === "" ? first : Number(key);
  if (!Number.isSafeInteger(after) || after < 0) throw invalidArgument("page_token", "page_token is not one this daemon issued");
  return after;
}

/** The token for the page after `items` (fetched with size + 1 to know whether more exist). */
export function nextPageToken<T>(items: readonly T[], size: number, key: (item: T) => string): string {
  if (items.length <= size) return "";
  return Buffer.from(key(items[size - 1] as T), "utf8").toString("base64url");
}
