/** ANSI styling, off when NO_COLOR is set (https://no-color.org) or the stream is not a terminal that takes escapes (see ansiTerminal). */
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

export function createStyle(stream: NodeJS.WriteStream): Style {
  const enabled = ansiTerminal(stream) && (process.env["NO_COLOR"] ?? "") === "";
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
