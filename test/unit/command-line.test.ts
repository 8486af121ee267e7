import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { commandLine } from "../../common/format.js";

describe("commandLine", () => {
  it("prints plain words as they are and quotes the rest, so the line pasted into a shell gives back the same argv", () => {
    const argv = ["sh", "-c", "echo testing $NAME; exit ${CODE:-0}", "it's", "", "a b", "--flag=x/y.z", "*", "ünï"];
    const line = commandLine(argv);
    expect(line.startsWith("sh -c 'echo testing $NAME; exit ${CODE:-0}' ")).toBe(true);
    expect(line).toContain(" --flag=x/y.z ");
    const back = execFileSync("/bin/sh", ["-c", `printf '%s\\0' ${line}`], { encoding: "utf8" });
    expect(back.split("\0").slice(0, -1)).toEqual(argv);
  });
});
