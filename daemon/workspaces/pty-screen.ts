import { TerminalModes } from "../../common/terminal-modes.js";

/** A line or escape sequence start is noted at most once per this many bytes of output. */
const START_SPACING_BYTES = 1024;
/** Notes kept, at least (up to twice as many): at START_SPACING_BYTES or more apart, they reach at least 256 KiB back, past any replay's start (PTY_REPLAY_BYTES). */
const MAX_STARTS = 256;
/** A replay's start moves at most this far forward to a noted start; with none that close (output without lines or sequences) it stays. */
const MAX_START_SHIFT_BYTES = 4096;

/**
 * What a client attaching to a running terminal needs besides its recent
 * output to see the screen as the program left it (as tmux redraws an
 * attaching client's screen, and Open Relay snapshots the terminal's modes):
 *
 * - the terminal modes the program set, perhaps long before the replayed
 *   output (terminal-modes.ts): a full-screen program that entered the
 *   alternate screen, turned on mouse reporting or application cursor keys
 *   at its start would otherwise be shown in the wrong screen, and its
 *   keys and clicks would reach it in the wrong form. A client writes them
 *   to its terminal before the replay; the replay's own mode changes then
 *   bring the terminal to where the program's is now.
 * - a replay start at a line or escape sequence start, not inside a
 *   sequence or a character, which a terminal would show as stray
 *   characters (`5;1H`).
 *
 * Follows the terminal's output as it is read, at the offsets the journal
 * gives it.
 */
export class PtyScreen {
  private readonly modes = new TerminalModes();
  /** Offsets where a line or an escape sequence starts, ascending, one per START_SPACING_BYTES at most: the output's first byte starts one. */
  private readonly starts: number[] = [0];
  private nextNote = START_SPACING_BYTES;
  /** The offset after the last bytes scanned. */
  private end = 0;

  /** The program's next output: `bytes`, at `offset`. */
  scan(bytes: Buffer, offset: number): void {
    this.modes.scan(bytes);
    const end = offset + bytes.byteLength;
    // Offsets go back when a commit failed (OutputTap.lose): notes start again from there.
    if (this.nextNote < offset || offset < this.end) this.nextNote = offset;
    this.end = end;
    // The next escape and newline at or after where the search is: each found once per chunk, not once per note.
    let escape = -1;
    let newline = -1;
    while (this.nextNote < end) {
      const from = this.nextNote - offset;
      if (escape !== Infinity && escape < from) escape = found(bytes.indexOf(0x1b, from));
      if (newline !== Infinity && newline < from) newline = found(bytes.indexOf(0x0a, from));
      // A line starts after its newline (perhaps in the next chunk), a sequence at its escape.
      const at = Math.min(escape, newline + 1);
      if (at === Infinity) break;
      this.note(offset + at);
      this.nextNote = offset + at + START_SPACING_BYTES;
    }
  }

  /** The terminal changed size (see TerminalModes.resized). */
  resized(): void {
    this.modes.resized();
  }

  /** The program turned on application cursor keys: keys typed for it by name are sent in that form (key-names.ts). */
  get applicationCursorKeys(): boolean {
    return this.modes.applicationCursorKeys;
  }

  /** The bytes that put a terminal just reset into the program's modes (empty when they are all the reset ones). */
  terminalModes(): Uint8Array {
    return Buffer.from(this.modes.enter(), "latin1");
  }

  /** Where a replay meant to start at `offset` starts: at the first noted line or sequence start at most MAX_START_SHIFT_BYTES on, and before `end`. */
  replayStart(offset: number, end: number): number {
    const start = this.starts.find((at) => at >= offset);
    return start !== undefined && start - offset <= MAX_START_SHIFT_BYTES && start < end ? start : offset;
  }

  private note(at: number): void {
    // What was noted past a start earlier than it (offsets went back) no longer holds.
    while (this.starts.length > 0 && this.starts[this.starts.length - 1]! >= at) this.starts.pop();
    this.starts.push(at);
    // Dropped in halves, not one by one: a flood of lines notes one per KiB.
    if (this.starts.length >= 2 * MAX_STARTS) this.starts.splice(0, MAX_STARTS);
  }
}

/** indexOf's answer, with Infinity for none. */
function found(index: number): number {
  return index < 0 ? Infinity : index;
}
