/**
 * ANSI styling: on for a terminal that takes escapes (see ansiTerminal) unless
 * NO_COLOR is set (https://no-color.org); FORCE_COLOR decides over both
 * (see forcedColour).
 */
export interface Style {
  readonly enabled: boolean;
  paint(text: string, code: number): string;
  /** A stable colour per task name, so its prefix reads the same everywhere. */
  task(name: string): string;
  bold(text: string): string;
  dim(text: string): string;
}

const TASK_COLOURS = [36, 35, 33, 32, 34, 96, 95, 93, 92, 94];

/**
 * Whether `stream` is a terminal that takes ANSI escapes: not one whose TERM
 * is `dumb` (Emacs's shell buffer, a CI's pseudo-terminal), where a colour
 * or a cursor movement shows as bytes, as git, npm and cargo hold.
 */
export function ansiTerminal(stream: NodeJS.WriteStream): boolean {
  return stream.isTTY === true && process.env["TERM"] !== "dumb";
}

/**
 * FORCE_COLOR as Node and chalk read it (https://force-color.org): set to
 * anything but "0" or "false", colour even where the stream is no terminal (a
 * CI's log that shows colours, `| less -R`); "0" or "false", none. It decides
 * over NO_COLOR, as in Node. Only colour: a progress view is redrawn in place
 * on a terminal alone.
 */
function forcedColour(): boolean | undefined {
  const value = process.env["FORCE_COLOR"];
  if (value === undefined || value === "") return undefined;
  return value !== "0" && value.toLowerCase() !== "false";
}

export function createStyle(stream: NodeJS.WriteStream): Style {
  const enabled = forcedColour() ?? (ansiTerminal(stream) && (process.env["NO_COLOR"] ?? "") === "");
  const paint = (text: string, code: number): string => (enabled ? `\x1b[${code}m${text}\x1b[0m` : text);
  return {
    enabled,
    paint,
    task(name) {
      let hash = 0;
      for (const ch of name) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
      return paint(name, TASK_COLOURS[hash % TASK_COLOURS.length]!);
    },
    bold: (text) => paint(text, 1),
    dim: (text) => paint(text, 2),
  };
}
