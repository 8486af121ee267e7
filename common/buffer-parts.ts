/**
 * The pieces from byte `start` on (none when they hold no more): views, no
 * copy. What a writev left (the CLI's output, the daemon's data files), or
 * a message's data after its head (client/data-parts.ts).
 */
export function partsFrom(parts: readonly Buffer[], start: number): Buffer[] {
  let skip = start;
  let i = 0;
  while (i < parts.length && skip >= parts[i]!.byteLength) skip -= parts[i++]!.byteLength;
  const rest = parts.slice(i);
  if (rest.length > 0 && skip > 0) rest[0] = rest[0]!.subarray(skip);
  return rest;
}
