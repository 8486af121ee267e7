import { describe, expect, it } from "vitest";
import { LINE_MAX_BYTES, OutputLines, prefixed } from "../../client/output-lines.js";

describe("runs' output cut into prefixed lines (tether run, tether attach)", () => {
  it("holds a line cut across chunks until its newline, per run and stream, a character cut in two included", () => {
    const lines = new OutputLines();
    const euro = Buffer.from("€"); // three bytes
    expect(lines.add(1, "a", false, Buffer.concat([Buffer.from("one\nprice 5"), euro.subarray(0, 1)]))).toEqual([{ task: "a", stderr: false, bytes: Buffer.from("one") }]);
    expect(lines.add(1, "a", true, Buffer.from("err "))).toEqual([]);
    expect(lines.add(2, "b", false, Buffer.from("b line\n"))).toEqual([{ task: "b", stderr: false, bytes: Buffer.from("b line") }]);
    expect(lines.add(1, "a", false, Buffer.concat([euro.subarray(1), Buffer.from("\nlast")]))).toEqual([{ task: "a", stderr: false, bytes: Buffer.from("price 5€") }]);
    expect(lines.rest()).toEqual([
      { task: "a", stderr: false, bytes: Buffer.from("last") },
      { task: "a", stderr: true, bytes: Buffer.from("err ") },
    ]);
    expect(lines.rest()).toEqual([]);
    // One run's rest alone, when it has ended.
    lines.add(3, "c", false, Buffer.from("c partial"));
    lines.add(4, "d", false, Buffer.from("d partial"));
    expect(lines.rest(3)).toEqual([{ task: "c", stderr: false, bytes: Buffer.from("c partial") }]);
    expect(lines.rest()).toEqual([{ task: "d", stderr: false, bytes: Buffer.from("d partial") }]);
  });

  it("cuts a line longer than LINE_MAX_BYTES between characters, rather than holding it whole", () => {
    const lines = new OutputLines();
    const long = Buffer.from("é".repeat(LINE_MAX_BYTES)); // two bytes each: twice the limit
    const cut = [...lines.add(1, "a", false, long.subarray(0, LINE_MAX_BYTES + 1)), ...lines.add(1, "a", false, long.subarray(LINE_MAX_BYTES + 1)), ...lines.rest()];
    expect(Buffer.concat(cut.map((l) => l.bytes)).toString()).toBe("é".repeat(LINE_MAX_BYTES));
    expect(cut.every((l) => l.bytes.length <= LINE_MAX_BYTES && !l.bytes.toString().includes("\ufffd"))).toBe(true);
    expect(cut.length).toBeGreaterThanOrEqual(2);
  });

  it("writes the prefix again after a carriage return inside a line, so a progress bar keeps it", () => {
    expect(prefixed("p | ", Buffer.from("\rprogress 1\rprogress 2")).toString()).toBe("p | \rp | progress 1\rp | progress 2\n");
    // A CRLF line's return is its end: nothing follows it; two in a row take one prefix.
    expect(prefixed("p | ", Buffer.from("dos line\r")).toString()).toBe("p | dos line\r\n");
    expect(prefixed("p | ", Buffer.from("a\r\rb")).toString()).toBe("p | a\r\rp | b\n");
  });

  it("keeps bytes that are not UTF-8 as the run wrote them (Latin-1, binary), as tether logs gives them", () => {
    const lines = new OutputLines();
    const latin1 = Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a, 0xff, 0xfe, 0x00]);
    expect(lines.add(1, "a", false, latin1)).toEqual([{ task: "a", stderr: false, bytes: Buffer.from([0x63, 0x61, 0x66, 0xe9]) }]);
    expect(lines.rest()).toEqual([{ task: "a", stderr: false, bytes: Buffer.from([0xff, 0xfe, 0x00]) }]);
    expect(prefixed("a | ", Buffer.from([0xe9, 0x0d, 0xff]))).toEqual(Buffer.from([...Buffer.from("a | "), 0xe9, 0x0d, ...Buffer.from("a | "), 0xff, 0x0a]));
  });
});
