import type { Journals } from "../journal/journals.js";
import type { OutputWriter } from "../process/output-writer.js";
import { PtyScreen } from "./pty-screen.js";
import { TerminalAnswers } from "./terminal-answers.js";
import { cursorAfter } from "./terminal-cursor.js";
import type { TerminalSize } from "./types.js";

/** How far back from a query an exec's screen is drawn to find its cursor: as a terminal's replay goes. */
const EXEC_SCREEN_BACK_BYTES = 64 * 1024;

/**
 * An exec's terminal (exec -t) as the daemon follows it, for the program's
 * queries to its terminal (the cursor's place, device attributes: fish, vim
 * and crossterm programs ask as they start): while the exec's own client is
 * attached on a terminal (`listen`), that terminal answers; else the daemon
 * does, as for a PTY nobody with a terminal is attached to (TerminalAnswers):
 * `exec -d -t`, or its client gone.
 */
export class ExecTerminal {
  private readonly screen = new PtyScreen();
  private readonly answers: TerminalAnswers;
  private size: TerminalSize;
  private listeners = 0;

  constructor(
    size: TerminalSize,
    output: { readonly journals: Journals; readonly journal: string; readonly writer: OutputWriter },
    /** Types an answer as the terminal would (a promise while too much input waits), or undefined once the program has gone. */
    answer: (bytes: Buffer) => Promise<void> | undefined,
  ) {
    this.size = { ...size };
    const stored = { ...output, screen: this.screen, backBytes: EXEC_SCREEN_BACK_BYTES };
    this.answers = new TerminalAnswers(answer, (end) => cursorAfter(stored, this.size, end));
  }

  /** The program's next output, `bytes` at `offset`, as it is read. */
  scan(bytes: Buffer, offset: number): void {
    this.screen.scan(bytes, offset);
    this.answers.scan(bytes, offset, this.listeners > 0);
  }

  resized(size: TerminalSize): void {
    this.size = { ...size };
  }

  /** A client whose terminal answers is attached until the function returned is called. */
  listen(): () => void {
    this.listeners++;
    let done = false;
    return () => {
      if (!done) this.listeners--;
      done = true;
    };
  }
}
