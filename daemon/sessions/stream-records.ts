import { isUtf8 } from "node:buffer";
import { Code } from "@connectrpc/connect";
import { TetherError, invalidArgument } from "../errors.js";
import { RECORD_MAX_BYTES } from "../journal/limits.js";
import type { AppendInput, JournalRecord } from "../journal/types.js";

/** A session stream's journal: `<session id>.s.<stream>`. */
export const streamJournal = (sessionId: string, stream: string): string => `${sessionId}.s.${stream}`;

/** Correlation ids and idempotency keys: short tags, not payload. */
const TAG_MAX_LENGTH = 256;
const CONTENT_TYPE_MAX_LENGTH = 128;
export const DEFAULT_CONTENT_TYPE = "application/octet-stream";

/** One record of a session stream. */
export interface StreamRecord {
  readonly stream: string;
  readonly seq: number;
  readonly data: Uint8Array;
  readonly contentType: string;
  readonly correlationId: string;
  readonly idempotencyKey: string;
  readonly createdAt: number;
}

/** What a writer gives for one record. */
export interface StreamInput {
  readonly data: Uint8Array;
  readonly contentType: string;
  readonly correlationId: string;
  readonly idempotencyKey: string;
}

/**
 * Checks a record before it is stored: sizes, tags, and that the data fits a
 * declared text or JSON type (valid UTF-8; valid JSON for JSON types).
 */
export function validateStreamInput(input: StreamInput): void {
  if (input.data.byteLength > RECORD_MAX_BYTES) {
    throw new TetherError(
      Code.InvalidArgument,
      "RECORD_TOO_LARGE",
      `a stream record holds ${input.data.byteLength} bytes, more than the limit of ${RECORD_MAX_BYTES} (4 MiB): split it into several records`,
      { limit_bytes: String(RECORD_MAX_BYTES) },
    );
  }
  if (input.correlationId.length > TAG_MAX_LENGTH) throw invalidArgument("correlation_id", `correlation_id is longer than ${TAG_MAX_LENGTH} characters`);
  if (input.idempotencyKey.length > TAG_MAX_LENGTH) throw invalidArgument("idempotency_key", `idempotency_key is longer than ${TAG_MAX_LENGTH} characters`);
  if (input.contentType.length > CONTENT_TYPE_MAX_LENGTH) throw invalidArgument("content_type", `content_type is longer than ${CONTENT_TYPE_MAX_LENGTH} characters`);
  const kind = contentKind(input.contentType);
  if (kind === "bytes") return;
  // Checked in place: a text record (each line of `tether output --lines`) costs no string.
  if (!isUtf8(input.data)) {
    throw new TetherError(Code.InvalidArgument, "RECORD_INVALID", `the data is not valid UTF-8, but its content type is ${input.contentType}: send it as application/octet-stream, or fix its encoding`, { field: "data" });
  }
  if (kind === "text") return;
  try {
    JSON.parse(UTF8.decode(input.data));
  } catch (error) {
    throw new TetherError(Code.InvalidArgument, "RECORD_INVALID", `the data is not valid JSON (${(error as Error).message}), but its content type is ${input.contentType}: fix the JSON, or send it as text/plain`, { field: "data" });
  }
}

/** Decodes JSON records' data (valid UTF-8 by then), a leading byte order mark dropped; one for all, as decode() without `stream` starts afresh. */
const UTF8 = new TextDecoder("utf-8");

/** What a content type asks of the data; the last one's answer is kept (a batch's records mostly share one). */
let lastType: { readonly contentType: string; readonly kind: "json" | "text" | "bytes" } = { contentType: DEFAULT_CONTENT_TYPE, kind: "bytes" };

function contentKind(contentType: string): "json" | "text" | "bytes" {
  if (contentType === lastType.contentType) return lastType.kind;
  const type = contentType.split(";")[0]!.trim().toLowerCase();
  const kind = type === "application/json" || type.endsWith("+json") ? "json" : type.startsWith("text/") ? "text" : "bytes";
  lastType = { contentType, kind };
  return kind;
}

export function encodeStreamInput(input: StreamInput): AppendInput {
  // The default content type is what a record without one reads back as: most records carry none.
  const meta: Record<string, string> = input.contentType === DEFAULT_CONTENT_TYPE ? {} : { ct: input.contentType };
  if (input.correlationId !== "") meta["c"] = input.correlationId;
  if (input.idempotencyKey !== "") meta["k"] = input.idempotencyKey;
  return { data: input.data, meta };
}

/** The record `input` became, appended as `seq` in a commit at `createdAt`: what reading it back would give. */
export function storedStreamRecord(stream: string, input: StreamInput, seq: number, createdAt: number): StreamRecord {
  const { data, contentType, correlationId, idempotencyKey } = input;
  return { stream, seq, data, contentType, correlationId, idempotencyKey, createdAt };
}

export function decodeStreamRecord(stream: string, record: JournalRecord): StreamRecord {
  const meta = record.meta ?? {};
  return {
    stream,
    seq: record.seq,
    data: record.data,
    contentType: meta["ct"] ?? DEFAULT_CONTENT_TYPE,
    correlationId: meta["c"] ?? "",
    idempotencyKey: meta["k"] ?? "",
    createdAt: record.createdAt,
  };
}
