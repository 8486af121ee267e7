import { describe, expect, it } from "vitest";
import { closestWord } from "../../common/closest-word.js";

const COMMANDS = ["run", "rerun", "ls", "show", "logs", "attach", "status", "start", "stop"];

describe("the closest word", () => {
  it("finds the word meant through a letter added, dropped, changed or two swapped, up to two", () => {
    expect(closestWord("lss", COMMANDS)).toBe("ls");
    expect(closestWord("attch", COMMANDS)).toBe("attach");
    expect(closestWord("stauts", COMMANDS)).toBe("status");
    expect(closestWord("shwo", COMMANDS)).toBe("show");
    expect(closestWord("stat", COMMANDS)).toBe("start");
  });

  it("finds none for a word far from every choice, or one so short that any would do", () => {
    expect(closestWord("xyzzy", COMMANDS)).toBeUndefined();
    expect(closestWord("deploy", COMMANDS)).toBeUndefined();
    expect(closestWord("q", COMMANDS)).toBeUndefined();
    expect(closestWord("", COMMANDS)).toBeUndefined();
    // Two edits make a short word into too many others.
    expect(closestWord("nope", ["one"])).toBeUndefined();
    expect(closestWord("oen", ["one"])).toBe("one");
  });
});
