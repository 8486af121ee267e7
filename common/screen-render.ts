import { createRequire } from "node:module";
import type * as Headless from "@xterm/headless";

/** A terminal's screen as text, as `tmux capture-pane -p` prints it, with where its cursor is. */
export interface Screen {
  readonly cols: number;
  readonly rows: number;
  /** One per row, top to bottom, trailing blanks trimmed. */
  readonly lines: readonly string[];
  /** The lines that scrolled off above the screen, oldest first, as many as were asked for and the output held. */
  readonly scrollback: readonly string[];
  /** Zero-based, from the top left. */
  readonly cursor: { readonly x: number; readonly y: number };
  /** The program is on the alternate screen (a full-screen program: vim, less, htop). */
  readonly alternateScreen: boolean;
}

/**
 * What a terminal of `cols` x `rows` shows after `chunks`, the program's
 * output in order (a PTY's terminal modes first, then its replay), and up
 * to `scrollback` lines that scrolled off above it: rendered
 * by xterm.js's headless terminal, the emulator VS Code's terminal runs on.
 * Loaded here, on first use, so nothing that does not render pays for it.
 * What the terminal would answer (queries in the output) goes nowhere.
 */
export async function renderScreen(cols: number, rows: number, chunks: Iterable<Uint8Array>, scrollback = 0): Promise<Screen> {
  // require(), not import(): the CLI runs as a script with a code cache (cli-loader.ts), where import() has no loader.
  const { Terminal } = createRequire(import.meta.url)("@xterm/headless") as typeof Headless;
  const term = new Terminal({ cols, rows, scrollback, allowProposedApi: true });
  try {
    for (const chunk of chunks) await new Promise<void>((resolve) => term.write(chunk, resolve));
    const buffer = term.buffer.active;
    // Trailing spaces go too, written or not, as tmux capture-pane drops them.
    const line = (y: number): string => (buffer.getLine(y)?.translateToString(true) ?? "").trimEnd();
    const lines = Array.from({ length: rows }, (_, y) => line(buffer.baseY + y));
    const above = Array.from({ length: buffer.baseY }, (_, y) => line(y));
    return { cols, rows, lines, scrollback: above, cursor: { x: buffer.cursorX, y: buffer.cursorY }, alternateScreen: buffer.type === "alternate" };
  } finally {
    term.dispose();
  }
}
