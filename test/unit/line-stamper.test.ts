import { describe, expect, it } from "vitest";
import { LineStamper } from "../../client/line-stamper.js";

describe("line stamps", () => {
  it("go before each line once, with the time of the chunk the line starts in", () => {
    const stamper = new LineStamper();
    const out = [
      stamper.stamp(Buffer.from("one\ntw"), "T1"),
      stamper.stamp(Buffer.from("o\n"), "T2"),
      stamper.stamp(Buffer.from(""), "T3"),
      stamper.stamp(Buffer.from("\nthree"), "T4"),
      stamper.stamp(Buffer.from(" and more\nfour\n"), "T5"),
    ].map(String);
    expect(out.join("")).toBe("T1 one\nT1 two\nT4 \nT4 three and more\nT5 four\n");
  });
});
