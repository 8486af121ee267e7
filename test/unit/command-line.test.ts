import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { commandLine, escapeControls } from "../../common/format.js";

describe("commandLine", () => {
  it("prints plain words as they are and quotes the rest, so the line pasted into a shell gives back the same argv", () => {
    const argv = ["sh", "-c", "echo testing $NAME; exit ${CODE:-0}", "it's", "", "a b", "--flag=x/y.z", "*", "ünï"];
    const line = commandLine(argv);
    expect(line.startsWith("sh -c 'echo testing $NAME; exit ${CODE:-0}' ")).toBe(true);
    expect(line).toContain(" --flag=x/y.z ");
    const back = execFileSync("/bin/sh", ["-c", `printf '%s\\0' ${line}`], { encoding: "utf8" });
    expect(back.split("\0").slice(0, -1)).toEqual(argv);
  });

  it("writes a word with a control character in bash's $'...', one line that bash gives back as the same argv", () => {
    const argv = ["printf", "a\nb", "tab\there", "esc\x1b[2J", "it's \\ \r", "c1\u0085"];
    const line = commandLine(argv);
    expect(line).toBe("printf $'a\\nb' $'tab\\there' $'esc\\x1b[2J' $'it\\'s \\\\ \\r' $'c1\\xc2\\x85'");
    const back = execFileSync("bash", ["-c", `printf '%s\\0' ${line}`], { encoding: "utf8" });
    expect(back.split("\0").slice(0, -1)).toEqual(argv);
  });
});

describe("escapeControls", () => {
  it("writes control characters as escapes and leaves the rest, other scripts included, as it is", () => {
    expect(escapeControls("/tmp/a\nb\tc\x1b[31m\x7f\u009bü 名")).toBe("/tmp/a\\nb\\tc\\x1b[31m\\x7f\\u009bü 名");
  });
});
