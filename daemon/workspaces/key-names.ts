/**
 * Keys named as tmux's send-keys names them, as the bytes a terminal (xterm)
 * sends for them: what a script types into a PTY without knowing escape
 * sequences (WritePty's `keys`, `tether pty send -k`).
 *
 * Each entry is a key name or, when it names none, its characters typed as
 * they are (`["echo hi", "Enter"]`), as tmux types an argument that is no
 * key. Names: Enter, Tab, BTab, Escape, Space, BSpace, Up, Down, Left, Right,
 * Home, End, Insert (IC), Delete (DC), PageUp (PPage, PgUp), PageDown (NPage,
 * PgDn), F1-F12, any of them or a single character after modifiers C-
 * (Ctrl), M- (Meta, Alt) and S- (Shift), and ^x for C-x; names are not case
 * sensitive, a single character is.
 *
 * Cursor keys, Home and End are sent as the program asked for them: in
 * application form (ESC O A) after it turned on application cursor keys
 * (DECCKM), as a terminal sends them.
 */

/** The final byte of each key xterm sends as CSI/SS3 + final: the cursor keys, Home and End. */
const CURSOR_KEYS: ReadonlyMap<string, string> = new Map([
  ["up", "A"],
  ["down", "B"],
  ["right", "C"],
  ["left", "D"],
  ["home", "H"],
  ["end", "F"],
]);

/** The number of each key xterm sends as CSI number ~. */
const TILDE_KEYS: ReadonlyMap<string, number> = new Map([
  ["insert", 2],
  ["ic", 2],
  ["delete", 3],
  ["dc", 3],
  ["pageup", 5],
  ["ppage", 5],
  ["pgup", 5],
  ["pagedown", 6],
  ["npage", 6],
  ["pgdn", 6],
  ["f5", 15],
  ["f6", 17],
  ["f7", 18],
  ["f8", 19],
  ["f9", 20],
  ["f10", 21],
  ["f11", 23],
  ["f12", 24],
]);

/** F1-F4: SS3 P-S unmodified, CSI 1 ; modifier P-S modified. */
const PF_KEYS: ReadonlyMap<string, string> = new Map([
  ["f1", "P"],
  ["f2", "Q"],
  ["f3", "R"],
  ["f4", "S"],
]);

/** Keys that are one character. */
const CHARACTER_KEYS: ReadonlyMap<string, string> = new Map([
  ["enter", "\r"],
  ["tab", "\t"],
  ["escape", "\x1b"],
  ["space", " "],
  ["bspace", "\x7f"],
]);

interface Modifiers {
  ctrl: boolean;
  meta: boolean;
  shift: boolean;
}

/** The bytes `keys` type, in order (see the module's comment); `applicationCursor`: the program turned on application cursor keys. */
export function keyBytes(keys: readonly string[], applicationCursor: boolean): Buffer {
  return Buffer.from(keys.map((key) => namedKey(key, applicationCursor) ?? key).join(""));
}

/** The characters key `key` sends, or undefined when it names no key (it is then typed as it is). */
function namedKey(key: string, applicationCursor: boolean): string | undefined {
  const modifiers: Modifiers = { ctrl: false, meta: false, shift: false };
  let rest = key;
  for (;;) {
    const prefix = rest.slice(0, 2).toLowerCase();
    if (rest.length > 2 && prefix === "c-") modifiers.ctrl = true;
    else if (rest.length > 2 && prefix === "m-") modifiers.meta = true;
    else if (rest.length > 2 && prefix === "s-") modifiers.shift = true;
    else break;
    rest = rest.slice(2);
  }
  if (rest.length === 2 && rest[0] === "^") {
    modifiers.ctrl = true;
    rest = rest.slice(1);
  }
  if (rest === key && [...key].length === 1) return undefined; // a character alone is typed as it is
  const name = rest.toLowerCase();
  const modifier = 1 + (modifiers.shift ? 1 : 0) + (modifiers.meta ? 2 : 0) + (modifiers.ctrl ? 4 : 0);
  const cursor = CURSOR_KEYS.get(name);
  if (cursor !== undefined) return modifier > 1 ? `\x1b[1;${modifier}${cursor}` : `\x1b${applicationCursor ? "O" : "["}${cursor}`;
  const tilde = TILDE_KEYS.get(name);
  if (tilde !== undefined) return modifier > 1 ? `\x1b[${tilde};${modifier}~` : `\x1b[${tilde}~`;
  const pf = PF_KEYS.get(name);
  if (pf !== undefined) return modifier > 1 ? `\x1b[1;${modifier}${pf}` : `\x1bO${pf}`;
  if (name === "btab" || (name === "tab" && modifiers.shift)) return `${modifiers.meta ? "\x1b" : ""}\x1b[Z`;
  const character = CHARACTER_KEYS.get(name) ?? ([...rest].length === 1 ? rest : undefined);
  if (character === undefined) return undefined;
  return (modifiers.meta ? "\x1b" : "") + (modifiers.ctrl ? control(character) : modifiers.shift ? character.toUpperCase() : character);
}

/** What Ctrl with `character` sends: its control character where it has one (C-a 0x01, C-Space and C-@ 0x00, C-? DEL), else the character. */
function control(character: string): string {
  if (character === " " || character === "@" || character === "2") return "\x00";
  if (character === "?" || character === "8") return "\x7f";
  const code = character.toUpperCase().charCodeAt(0);
  if (code >= 0x41 && code <= 0x5f) return String.fromCharCode(code & 0x1f); // A-Z [ \ ] ^ _
  if (code >= 0x33 && code <= 0x37) return String.fromCharCode(code - 0x18); // C-3..C-7: ESC, FS, GS, RS, US as xterm sends them
  return character;
}
