import { renderScreen } from "../../common/screen-render.js";
import type { Journals } from "../journal/journals.js";
import { followOutput } from "../process/follow-output.js";
import type { OutputWriter } from "../process/output-writer.js";
import type { PtyScreen } from "./pty-screen.js";
import type { TerminalSize } from "./types.js";

/** The longest the daemon reads a terminal's output to find its cursor for a query (TerminalAnswers). */
const CURSOR_READ_MAX_MS = 5_000;

/** A terminal whose output is stored in `journal` by `writer`, scanned by `screen` as it was read. */
export interface StoredTerminal {
  readonly journals: Journals;
  readonly journal: string;
  readonly writer: OutputWriter;
  readonly screen: PtyScreen;
  /** How far back from a query its screen is drawn from: as far as a replay goes. */
  readonly backBytes: number;
}

/**
 * Where a terminal's cursor is once its output up to `end` has been drawn,
 * for a query nobody attached will answer (TerminalAnswers): its modes and
 * the output a replay up to there would give, rendered at `size`.
 */
export async function cursorAfter(terminal: StoredTerminal, size: TerminalSize, end: number): Promise<{ x: number; y: number; cols: number }> {
  const { journals, journal, writer, screen } = terminal;
  await writer.storedThrough(end);
  const from = screen.replayStart(Math.max(journals.get(journal).firstOffset, end - terminal.backBytes), end);
  const chunks = [screen.terminalModes()];
  read: for await (const pieces of followOutput(journals, journal, from, undefined, AbortSignal.timeout(CURSOR_READ_MAX_MS))) {
    for (const piece of pieces) {
      if (piece.offset >= end) break read;
      chunks.push(piece.data.subarray(0, end - piece.offset));
    }
  }
  const { cursor } = await renderScreen(size.cols, size.rows, chunks);
  return { ...cursor, cols: size.cols };
}
