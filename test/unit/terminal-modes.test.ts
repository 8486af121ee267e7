import { describe, expect, it } from "vitest";
import { TerminalModes } from "../../common/terminal-modes.js";

/** `output` followed in pieces cut at `cuts`. */
function follow(output: string, cuts: number[] = []): TerminalModes {
  const modes = new TerminalModes();
  const bytes = Buffer.from(output, "latin1");
  let at = 0;
  for (const cut of [...cuts, bytes.length]) {
    modes.scan(bytes.subarray(at, cut));
    at = cut;
  }
  return modes;
}

// What a full-screen program sets at its start (vim, htop, less), with text and colours between.
const SETUP = "\x1b[?1049h\x1b[22;0;0t\x1b[?1h\x1b=\x1b[H\x1b[2J\x1b[?2004h\x1b[?1000;1006h\x1b[1;31mred\x1b[m\x1b[?25l\x1b[2;23r\x1b]0;title\x07text\r\n";
const ENTER = "\x1b[?1049h\x1b[?1h\x1b[?2004h\x1b[?1000h\x1b[?1006h\x1b[?25l\x1b=\x1b7\x1b[2;23r\x1b8";
const LEAVE = "\x1b7\x1b[r\x1b8\x1b>\x1b[?1l\x1b[?2004l\x1b[?1000l\x1b[?1006l\x1b[?25h\x1b[?1049l";

describe("TerminalModes", () => {
  it("follows the modes a program sets, cut anywhere between chunks, and says how to enter and leave them, the alternate screen first in and last out", () => {
    expect([follow(SETUP).enter(), follow(SETUP).leave()]).toEqual([ENTER, LEAVE]);
    for (let cut = 0; cut <= SETUP.length; cut++) expect(follow(SETUP, [cut]).enter()).toBe(ENTER);
    const everyByte = follow(SETUP, Array.from({ length: SETUP.length }, (_, i) => i));
    expect([everyByte.enter(), everyByte.leave()]).toEqual([ENTER, LEAVE]);
  });

  it("a terminal at its reset modes needs nothing: modes set back, a program that cleaned up, a full reset, a soft reset", () => {
    expect(follow("plain text\r\n\x1b[1mbold\x1b[0m").enter()).toBe("");
    expect(follow(`${SETUP}\x1b[?1l\x1b>\x1b[?2004l\x1b[?1000;1006l\x1b[?25h\x1b[r\x1b[?1049l`).leave()).toBe("");
    expect(follow(`${SETUP}\x1bc`).enter()).toBe("");
    // DECSTR: cursor keys, origin, the keypad, the scroll region and the cursor back; the rest stays.
    expect(follow(`${SETUP}\x1b[?6h\x1b[!p`).enter()).toBe("\x1b[?1049h\x1b[?2004h\x1b[?1000h\x1b[?1006h");
    // A resize makes the whole screen the scroll region again (xterm, tmux).
    const resized = follow("\x1b[2;23r\x1b[?2004h");
    resized.resized();
    expect(resized.enter()).toBe("\x1b[?2004h");
    // Autowrap is on after a reset: turning it off is what is followed.
    expect(follow("\x1b[?7l").enter()).toBe("\x1b[?7l");
    expect(follow("\x1b[?7l\x1b[?7h").enter()).toBe("");
  });

  it("follows no sequence cancelled, too long, or not a mode change: other prefixes and intermediates, unknown modes, bytes past ASCII", () => {
    expect(follow("\x1b[?1049\x18h\x1b[?10\x1a49h\x1b[?10\xe949h").enter()).toBe("");
    expect(follow(`\x1b[?${"1;".repeat(40)}1049h`).enter()).toBe("");
    expect(follow("\x1b[>1049h\x1b[?1049$h\x1b[1049h\x1b[?9999h").enter()).toBe("");
    // An escape inside a sequence starts a new one; control bytes inside are carried out and DEL ignored, the sequence going on.
    expect(follow("\x1b[?10\x1b[?2004h\x1b[?1\n04\x7f9h").enter()).toBe("\x1b[?1049h\x1b[?2004h");
    // An escape after an escape starts the sequence; sub-parameters are no modes.
    expect(follow("\x1b\x1b[?2004h\x1b[?1049:1h").enter()).toBe("\x1b[?2004h");
    // A scroll region with private or odd parameters is no scroll region.
    expect(follow("\x1b[?1;5r\x1b[1;5 r").enter()).toBe("");
  });
});
