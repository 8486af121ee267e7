import { timestampMs, type Timestamp } from "@bufbuild/protobuf/wkt";

/** A timestamp as `--json` prints it: ISO 8601, or null when there is none. */
export function isoTime(ts: Timestamp | undefined): string | null {
  return ts === undefined ? null : new Date(timestampMs(ts)).toISOString();
}
