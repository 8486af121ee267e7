import { describe, expect, it } from "vitest";
import { keyBytes } from "../../daemon/workspaces/key-names.js";

const typed = (keys: string[], application = false): string => keyBytes(keys, application).toString("latin1");

describe("keys by name (tmux send-keys's names, xterm's bytes)", () => {
  it("names keys case-insensitively; what names no key is typed as it is, words not joined", () => {
    expect(typed(["git status", "Enter"])).toBe("git status\r");
    expect(typed(["ENTER", "tab", "Escape", "Space", "BSpace", "BTab"])).toBe("\r\t\x1b \x7f\x1b[Z");
    expect(typed(["Entr", "C-", "^", "x", "M-"])).toBe("EntrC-^xM-");
  });

  it("Ctrl, Meta and Shift on characters: control characters where xterm has them", () => {
    expect(typed(["C-c", "c-C", "^d", "C-[", "C-\\", "C-Space", "C-@", "C-?", "C-3", "C-7"])).toBe("\x03\x03\x04\x1b\x1c\x00\x00\x7f\x1b\x1f");
    expect(typed(["M-x", "M-Enter", "M-C-a", "C-M-a", "S-a", "M-BTab"])).toBe("\x1bx\x1b\r\x1b\x01\x1b\x01A\x1b\x1b[Z");
    // No control character for it: the character itself.
    expect(typed(["C-1"])).toBe("1");
  });

  it("cursor keys, Home and End follow application cursor keys; modified ones and the rest do not", () => {
    expect(typed(["Up", "Down", "Right", "Left", "Home", "End"])).toBe("\x1b[A\x1b[B\x1b[C\x1b[D\x1b[H\x1b[F");
    expect(typed(["Up", "Down", "Right", "Left", "Home", "End"], true)).toBe("\x1bOA\x1bOB\x1bOC\x1bOD\x1bOH\x1bOF");
    expect(typed(["C-Up", "S-Left", "M-Home", "C-S-End"], true)).toBe("\x1b[1;5A\x1b[1;2D\x1b[1;3H\x1b[1;6F");
    expect(typed(["Insert", "IC", "Delete", "DC", "PageUp", "PPage", "PgUp", "PageDown", "NPage", "PgDn"])).toBe("\x1b[2~\x1b[2~\x1b[3~\x1b[3~\x1b[5~\x1b[5~\x1b[5~\x1b[6~\x1b[6~\x1b[6~");
    expect(typed(["C-Delete", "S-PageUp"])).toBe("\x1b[3;5~\x1b[5;2~");
  });

  it("function keys F1-F12, modified too", () => {
    expect(typed(["F1", "F2", "F3", "F4"], true)).toBe("\x1bOP\x1bOQ\x1bOR\x1bOS");
    expect(typed(["F5", "F6", "F7", "F8", "F9", "F10", "F11", "F12"])).toBe("\x1b[15~\x1b[17~\x1b[18~\x1b[19~\x1b[20~\x1b[21~\x1b[23~\x1b[24~");
    expect(typed(["S-F1", "C-F12"])).toBe("\x1b[1;2P\x1b[24;5~");
    expect(typed(["F13"])).toBe("F13");
  });

  it("text beyond ASCII is typed as UTF-8", () => {
    expect(keyBytes(["é", "M-é", "naïve 🙂"], false)).toEqual(Buffer.from("é\x1bénaïve 🙂"));
  });
});
