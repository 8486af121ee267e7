import { describe, expect, it } from "vitest";
import { LINE_MAX_BYTES, OutputLines, prefixed } from "../../client/output-lines.js";

describe("runs' output cut into prefixed lines (tether run, tether attach)", () => {
  it("holds a line cut across chunks until its newline, per run and stream, a character cut in two included", () => {
    const lines = new OutputLines();
    const euro = Buffer.from("€"); // three bytes
    expect(lines.add(1, "a", false, Buffer.concat([Buffer.from("one\nprice 5"), euro.subarray(0, 1)]))).toEqual([{ task: "a", stderr: false, text: "one" }]);
    expect(lines.add(1, "a", true, Buffer.from("err "))).toEqual([]);
    expect(lines.add(2, "b", false, Buffer.from("b line\n"))).toEqual([{ task: "b", stderr: false, text: "b line" }]);
    expect(lines.add(1, "a", false, Buffer.concat([euro.subarray(1), Buffer.from("\nlast")]))).toEqual([{ task: "a", stderr: false, text: "price 5€" }]);
    expect(lines.rest()).toEqual([
      { task: "a", stderr: false, text: "last" },
      { task: "a", stderr: true, text: "err " },
    ]);
    expect(lines.rest()).toEqual([]);
    // One run's rest alone, when it has ended.
    lines.add(3, "c", false, Buffer.from("c partial"));
    lines.add(4, "d", false, Buffer.from("d partial"));
    expect(lines.rest(3)).toEqual([{ task: "c", stderr: false, text: "c partial" }]);
    expect(lines.rest()).toEqual([{ task: "d", stderr: false, text: "d partial" }]);
  });

  it("cuts a line longer than LINE_MAX_BYTES between characters, rather than holding it whole", () => {
    const lines = new OutputLines();
    const long = Buffer.from("é".repeat(LINE_MAX_BYTES)); // two bytes each: twice the limit
    const cut = [...lines.add(1, "a", false, long.subarray(0, LINE_MAX_BYTES + 1)), ...lines.add(1, "a", false, long.subarray(LINE_MAX_BYTES + 1)), ...lines.rest()];
    expect(cut.map((l) => l.text).join("")).toBe("é".repeat(LINE_MAX_BYTES));
    expect(cut.every((l) => Buffer.byteLength(l.text) <= LINE_MAX_BYTES && !l.text.includes("\ufffd"))).toBe(true);
    expect(cut.length).toBeGreaterThanOrEqual(2);
  });

  it("writes the prefix again after a carriage return inside a line, so a progress bar keeps it", () => {
    expect(prefixed("p | ", "\rprogress 1\rprogress 2")).toBe("p | \rp | progress 1\rp | progress 2\n");
    // A CRLF line's return is its end: nothing follows it.
    expect(prefixed("p | ", "dos line\r")).toBe("p | dos line\r\n");
  });
});
