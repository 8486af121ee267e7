/**
 * The terminal modes a program's output has set, followed from its bytes as
 * a terminal follows them: what a terminal that joins late must be told
 * before the replay (a PTY's attach, daemon/workspaces/pty-screen.ts), and
 * what a client's terminal must be told when it leaves the program's screen
 * (`tether pty`'s detach), as tmux sets up and restores the terminal it
 * attaches to.
 *
 * Followed: the DEC private modes (CSI ? Pm h / CSI ? Pm l) in DEC_MODES,
 * which change how the terminal takes keys and the mouse or shows the
 * screen; the keypad (ESC = / ESC >); the scroll region (CSI Pt ; Pb r,
 * gone when the terminal is resized); a full reset (ESC c) and a soft reset (CSI ! p) as xterm does them.
 * Everything else (colours, titles, the screen's contents) is the replay's
 * and the program's to redraw. Sequences may be split anywhere between
 * chunks. C1 controls as single bytes (0x9b for CSI) are not followed: in
 * UTF-8 they are parts of characters, as xterm takes them there.
 */

/** Each followed mode and its value in a terminal just reset (xterm's). */
const DEC_MODES: ReadonlyMap<number, boolean> = new Map([
  [1, false], // cursor keys send application sequences (DECCKM)
  [6, false], // origin mode: positions are within the scroll region (DECOM)
  [7, true], // autowrap (DECAWM)
  [25, true], // cursor visible (DECTCEM)
  [47, false], // alternate screen
  [1047, false], // alternate screen, cleared on leaving
  [1049, false], // alternate screen, the cursor saved on entering
  [1000, false], // mouse: button presses
  [1002, false], // mouse: drags
  [1003, false], // mouse: all motion
  [1004, false], // focus in and out
  [1005, false], // mouse: UTF-8 coordinates
  [1006, false], // mouse: SGR coordinates
  [1015, false], // mouse: urxvt coordinates
  [2004, false], // bracketed paste
]);
/** The alternate screen's modes: entered before the others (they apply to it), left after them. */
const SCREEN_MODES = new Set([47, 1047, 1049]);
/** A soft reset (DECSTR) sets these as xterm does; the scroll region goes too. */
const SOFT_RESET: ReadonlyMap<number, boolean> = new Map([
  [1, false],
  [6, false],
  [25, true],
]);

const ESC = 0x1b;
/** The final bytes of the sequences followed: set and reset mode (h, l), scroll region (r), soft reset (p). */
const MODE_FINALS = new Set([0x68, 0x6c, 0x72, 0x70]);
/** A parameter string longer than this is no mode change worth following (and bounds what a hostile stream makes the scanner keep). */
const MAX_PARAMS = 64;

const enum State {
  Ground,
  Escape,
  Csi,
  /** A CSI sequence too long to follow: skipped to its final byte. */
  CsiIgnore,
}

export class TerminalModes {
  /** Modes not at their reset value, with their value. */
  private readonly set = new Map<number, boolean>();
  private keypad = false;
  /** The scroll region's parameters as written ("3;20"), or undefined for the whole screen. */
  private scrollRegion: string | undefined;
  private state = State.Ground;
  /** The parameter and intermediate bytes of the CSI sequence being read that earlier chunks (or a control byte inside it) held. */
  private body = "";

  /**
   * Follows `bytes`, the next of the program's output. Costs little per byte
   * where there are few sequences: a Buffer's indexOf (memchr, ~25× a
   * Uint8Array's here) finds each escape, and a sequence's bytes are read in
   * one tight loop, made into a string only when it may change a mode.
   */
  scan(bytes: Buffer): void {
    let i = 0;
    const n = bytes.length;
    while (i < n) {
      if (this.state === State.Ground) {
        const at = bytes.indexOf(ESC, i);
        if (at < 0) return;
        this.state = State.Escape;
        i = at + 1;
      } else if (this.state === State.Escape) {
        const byte = bytes[i++]!;
        if (byte !== ESC) this.escape(byte); // another escape starts the sequence again
      } else {
        i = this.sequence(bytes, i);
      }
    }
  }

  /** Reads a CSI sequence on from `i`, to its final byte or the chunk's end; returns where it stopped. */
  private sequence(bytes: Buffer, i: number): number {
    let j = i;
    // Parameter and intermediate bytes (0x20-0x3f): most of a sequence.
    while (j < bytes.length && bytes[j]! >= 0x20 && bytes[j]! <= 0x3f) j++;
    if (j === bytes.length) {
      this.keep(bytes, i, j); // the sequence goes on in the next chunk
      return j;
    }
    const byte = bytes[j]!;
    if (byte >= 0x40 && byte <= 0x7e) {
      const length = this.body.length + (j - i);
      if (this.state === State.Csi && MODE_FINALS.has(byte) && length <= MAX_PARAMS) {
        // Most sequences come whole in one chunk: read from its bytes, no string made.
        if (this.body === "") this.dispatch(bytes, i, j, byte);
        else {
          const whole = Buffer.from(this.body + bytes.toString("latin1", i, j), "latin1");
          this.dispatch(whole, 0, whole.length, byte);
        }
      }
      this.end(State.Ground);
    } else if (byte === ESC) {
      this.end(State.Escape);
    } else if (byte === 0x18 || byte === 0x1a || byte >= 0x80) {
      this.end(State.Ground); // CAN and SUB cancel a sequence; bytes past ASCII are no part of one
    } else {
      // A control byte inside a sequence is carried out by a terminal without ending it; DEL is ignored.
      this.keep(bytes, i, j);
    }
    return j + 1;
  }

  /** `CSI ? Pm h` or `l`, its parameters in bytes[i, j): the modes set or reset; anything else there (sub-parameters, intermediates) is no mode change. */
  private decModes(bytes: Buffer, i: number, j: number, final: number): void {
    if (bytes[i] !== 0x3f /* ? */) return;
    for (let k = i + 1; k < j; k++) {
      const byte = bytes[k]!;
      if (byte < 0x30 || byte > 0x3b || byte === 0x3a) return; // digits and ; only
    }
    let mode = 0;
    for (let k = i + 1; k <= j; k++) {
      if (k < j && bytes[k] !== 0x3b) {
        mode = mode * 10 + bytes[k]! - 0x30;
      } else {
        this.decMode(mode, final === 0x68);
        mode = 0;
      }
    }
  }

  /** Keeps the bytes from `i` to `j` of the sequence being read for its end; one too long to be a mode change is only skipped. */
  private keep(bytes: Buffer, i: number, j: number): void {
    if (this.state !== State.Csi || j === i) return;
    if (this.body.length + (j - i) > MAX_PARAMS) this.end(State.CsiIgnore);
    else this.body += bytes.toString("latin1", i, j);
  }

  private end(next: State): void {
    this.state = next;
    this.body = "";
  }

  /** The program turned on application cursor keys (DECCKM): a terminal sends its cursor keys as ESC O A, not ESC [ A. */
  get applicationCursorKeys(): boolean {
    return this.set.get(1) === true;
  }

  /** The terminal changed size: as xterm and tmux do, its scroll region is the whole screen again. */
  resized(): void {
    this.scrollRegion = undefined;
  }

  /** Bytes that take a terminal from its reset state into these modes. Empty when every mode is at its reset value. */
  enter(): string {
    let out = "";
    for (const [mode, on] of this.set) if (SCREEN_MODES.has(mode)) out += decMode(mode, on);
    for (const [mode, on] of this.set) if (!SCREEN_MODES.has(mode)) out += decMode(mode, on);
    if (this.keypad) out += "\x1b=";
    // Setting the region homes the cursor: saved and restored around it.
    if (this.scrollRegion !== undefined) out += `\x1b7\x1b[${this.scrollRegion}r\x1b8`;
    return out;
  }

  /** Bytes that take a terminal in these modes back to their reset values, the alternate screen left last. Empty when there is nothing to undo. */
  leave(): string {
    let out = this.scrollRegion === undefined ? "" : "\x1b7\x1b[r\x1b8";
    if (this.keypad) out += "\x1b>";
    for (const [mode, on] of this.set) if (!SCREEN_MODES.has(mode)) out += decMode(mode, !on);
    for (const [mode, on] of this.set) if (SCREEN_MODES.has(mode)) out += decMode(mode, !on);
    return out;
  }

  private escape(byte: number): void {
    this.state = State.Ground;
    if (byte === 0x5b /* [ */) {
      this.end(State.Csi);
    } else if (byte === 0x3d /* = */) {
      this.keypad = true;
    } else if (byte === 0x3e /* > */) {
      this.keypad = false;
    } else if (byte === 0x63 /* c */) {
      this.set.clear();
      this.keypad = false;
      this.scrollRegion = undefined;
    }
  }

  /** A CSI sequence's end: its parameter and intermediate bytes in bytes[i, j), and its final byte (one of MODE_FINALS). */
  private dispatch(bytes: Buffer, i: number, j: number, final: number): void {
    if (final === 0x68 /* h */ || final === 0x6c /* l */) {
      this.decModes(bytes, i, j, final);
      return;
    }
    const body = bytes.toString("latin1", i, j);
    const params = body.replace(/[\x20-\x2f]/g, "");
    const intermediates = body.replace(/[\x30-\x3f]/g, "");
    if (final === 0x72 /* r */ && intermediates === "" && /^[\d;]*$/.test(params)) {
      this.scrollRegion = /[1-9]/.test(params) ? params : undefined;
    } else if (final === 0x70 /* p */ && intermediates === "!" && params === "") {
      for (const [mode, on] of SOFT_RESET) this.decMode(mode, on);
      this.keypad = false;
      this.scrollRegion = undefined;
    }
  }

  private decMode(mode: number, on: boolean): void {
    const reset = DEC_MODES.get(mode);
    if (reset === undefined) return;
    if (on === reset) this.set.delete(mode);
    else this.set.set(mode, on);
  }
}

function decMode(mode: number, on: boolean): string {
  return `\x1b[?${mode}${on ? "h" : "l"}`;
}
