import { readdir, unlink } from "node:fs/promises";
import { join } from "node:path";
import { log } from "../log.js";
import { DATA_SEGMENT_BYTES } from "./limits.js";

/**
 * Deletes the data files (data-files.ts) in `dir` that no journal holds: a
 * removal or a trim deletes its files after its commit, so a daemon killed
 * in between leaves some behind. `held` is asked once the directory is
 * listed: each journal's id and first retained offset (ids are never given
 * again, so a file whose id is not there belongs to no journal, now or
 * later; a segment wholly before the first offset holds only dropped bytes).
 * Resolves with how many files went.
 */
export async function sweepDataFiles(dir: string, held: () => ReadonlyMap<number, number>): Promise<number> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return 0;
    throw error;
  }
  const places = held();
  let deleted = 0;
  for (const name of names) {
    const match = /^(\d+)\.(\d+)$/.exec(name);
    if (match === null) continue;
    const firstOffset = places.get(Number(match[1]));
    if (firstOffset !== undefined && Number(match[2]) >= Math.floor(firstOffset / DATA_SEGMENT_BYTES)) continue;
    try {
      await unlink(join(dir, name));
      deleted += 1;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") log(`could not delete ${join(dir, name)}, which no journal holds: ${(error as Error).message}`);
    }
  }
  return deleted;
}
