import { randomInt } from "node:crypto";

const ID_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz";
const ID_LENGTH = 5;

/**
 * A short, readable id such as "s-7f3k2": the kind's letter and five base-36
 * characters, one more whenever collisions get frequent, so ids stay short
 * and any unique prefix names the resource.
 */
export function newId(prefix: string, taken: (id: string) => boolean): string {
  for (let length = ID_LENGTH; ; length++) {
    for (let attempt = 0; attempt < 8; attempt++) {
      let id = prefix;
      for (let i = 0; i < length; i++) id += ID_ALPHABET[randomInt(ID_ALPHABET.length)];
      if (!taken(id)) return id;
    }
  }
}

/** The exclusive upper bound of the ids starting with `prefix`, for range scans. */
export function prefixUpperBound(prefix: string): string {
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}

/** The one resource a prefix names: refused when none or several match (the candidates are listed, so the user can type more). */
export function uniqueMatch<T extends { readonly id: string }>(matches: readonly T[], notFound: () => Error, ambiguous: (candidates: string) => Error): T {
  if (matches.length === 1) return matches[0]!;
  if (matches.length === 0) throw notFound();
  throw ambiguous(matches.map((m) => m.id).join(", "));
}
