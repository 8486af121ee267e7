import { invalidArgument } from "../errors.js";

/**
 * The most a task's result (its xcom value) holds: the last record it
 * writes to the built-in `result` stream, or with `result: stdout` the
 * first this many bytes of its stdout, trimmed.
 */
export const RESULT_MAX_BYTES = 1024 * 1024;

/** A record written to `result` as the xcom value it becomes: UTF-8 text of at most RESULT_MAX_BYTES. */
export function resultText(data: Uint8Array): string {
  if (data.byteLength > RESULT_MAX_BYTES) throw invalidArgument("records", `a result holds at most ${RESULT_MAX_BYTES} bytes (it becomes the task's xcom value): write a smaller one, or the data to another output stream`);
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(data);
  } catch {
    throw invalidArgument("records", "a result is text (it becomes the task's xcom value): write UTF-8, or binary data to another output stream");
  }
}
