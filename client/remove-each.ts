import { timestampMs, type Timestamp } from "@bufbuild/protobuf/wkt";
import { formatBytes } from "../common/format.js";
import { describeError } from "./cli-error.js";

/**
 * Removes each of `refs` in turn, printing what went and the output freed
 * with it; one that cannot go is printed on stderr and the others still
 * go, as `docker rm` does. Resolves to the exit code: 1 when any failed.
 */
export async function removeEach(refs: readonly string[], remove: (ref: string) => Promise<{ id: string; outputBytes: bigint }>): Promise<number> {
  let failed = 0;
  for (const ref of refs) {
    try {
      const { id, outputBytes } = await remove(ref);
      process.stdout.write(`removed ${id} (${formatBytes(Number(outputBytes))} of output)\n`);
    } catch (error) {
      process.stderr.write(`tether: ${describeError(error)}\n`);
      failed += 1;
    }
  }
  return failed === 0 ? 0 : 1;
}

/** Removals under way at once for removeAll: their commits share fsyncs. */
const REMOVALS_AT_ONCE = 16;

/**
 * Removes every one of `ids`, REMOVALS_AT_ONCE at a time, then says in one
 * line how many went and what they freed (`what`: "ended session(s)"), as
 * `pueue clean` does; each failure is printed. Resolves to the exit code.
 */
export async function removeAll(ids: readonly string[], remove: (ref: string) => Promise<{ outputBytes: bigint }>, what: string): Promise<number> {
  let removed = 0;
  let bytes = 0n;
  let failed = 0;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < ids.length) {
      const id = ids[next++]!;
      try {
        // Awaited first: `bytes += await ...` would add to the sum as it was before the wait.
        const { outputBytes } = await remove(id);
        bytes += outputBytes;
        removed += 1;
      } catch (error) {
        process.stderr.write(`tether: ${describeError(error)}\n`);
        failed += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: REMOVALS_AT_ONCE }, worker));
  process.stdout.write(`removed ${removed} ${what} (${formatBytes(Number(bytes))} of output)\n`);
  return failed === 0 ? 0 : 1;
}

/** Whether what ended at `endTime` ended at or before `cutoff` (endedBeforeFlag); without an end time, not. */
export function endedBy(endTime: Timestamp | undefined, cutoff: number): boolean {
  return endTime !== undefined && timestampMs(endTime) <= cutoff;
}
