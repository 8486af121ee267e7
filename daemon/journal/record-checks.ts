import { Code } from "@connectrpc/connect";
import { TetherError } from "../errors.js";
import { RECORD_MAX_BYTES, RECORD_META_MAX_BYTES } from "./limits.js";
import type { AppendInput } from "./types.js";

/** What one record may hold, checked before it is appended. */

/** An upper bound of metaBytes, without encoding: a UTF-16 code unit takes at most 3 bytes in UTF-8. */
function metaBytesAtMost(meta: Readonly<Record<string, string>>): number {
  let units = 0;
  for (const k in meta) units += k.length + meta[k]!.length;
  return units * 3;
}

function metaBytes(meta: Readonly<Record<string, string>>): number {
  let bytes = 0;
  for (const k in meta) bytes += Buffer.byteLength(k) + Buffer.byteLength(meta[k]!);
  return bytes;
}

/** Whether a record's metadata has any key (cheaper than Object.keys on every append). */
export function hasKeys(meta: Readonly<Record<string, string>>): boolean {
  for (const _ in meta) return true;
  return false;
}

/** Refuses a record over RECORD_MAX_BYTES, or whose metadata is over RECORD_META_MAX_BYTES. */
export function validateRecord(input: AppendInput): void {
  if (input.data.byteLength > RECORD_MAX_BYTES) {
    throw new TetherError(
      Code.InvalidArgument,
      "RECORD_TOO_LARGE",
      `a record holds ${input.data.byteLength} bytes, more than the limit of ${RECORD_MAX_BYTES}: split it into several records`,
      { limit_bytes: String(RECORD_MAX_BYTES) },
    );
  }
  if (input.meta !== undefined && metaBytesAtMost(input.meta) > RECORD_META_MAX_BYTES) {
    const bytes = metaBytes(input.meta);
    if (bytes > RECORD_META_MAX_BYTES) {
      throw new TetherError(
        Code.InvalidArgument,
        "RECORD_TOO_LARGE",
        `a record's metadata holds ${bytes} bytes, more than the limit of ${RECORD_META_MAX_BYTES}: put large values in the data`,
        { limit_bytes: String(RECORD_META_MAX_BYTES), field: "metadata" },
      );
    }
  }
}

