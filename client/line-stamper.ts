import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { timestampDate } from "@bufbuild/protobuf/wkt";

/**
 * Puts a time before each line of one output (stdout or stderr), as
 * `docker logs -t` does: a line gets the time of the chunk it starts in,
 * and a line cut across chunks is stamped once.
 */
export class LineStamper {
  private atLineStart = true;

  /** `data` with `time` and a space before each line that starts in it. */
  stamp(data: Uint8Array, time: string): Buffer {
    const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const parts: Buffer[] = [];
    for (let from = 0; from < bytes.length; ) {
      if (this.atLineStart) parts.push(Buffer.from(`${time} `));
      const newline = bytes.indexOf(0x0a, from);
      const end = newline < 0 ? bytes.length : newline + 1;
      parts.push(bytes.subarray(from, end));
      this.atLineStart = newline >= 0;
      from = end;
    }
    return Buffer.concat(parts);
  }
}

/** A stamper for each of a command's outputs (`logs -t`, `exec attach -t`): each chunk stamped with when it was stored. */
export class OutputStampers {
  private readonly stampers = { stdout: new LineStamper(), stderr: new LineStamper() };

  /** `data` of `stream`, each line that starts in it after `stored` (ISO 8601; nothing when unknown). */
  stamp(stream: "stdout" | "stderr", data: Uint8Array, stored: Timestamp | undefined): Buffer {
    return this.stampers[stream].stamp(data, stored === undefined ? "" : timestampDate(stored).toISOString());
  }
}
