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
