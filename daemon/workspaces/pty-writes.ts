import { Code } from "@connectrpc/connect";
import { TetherError } from "../errors.js";

/** How many WritePty calls may wait on one PTY whose program does not read its input; more are refused. */
export const PTY_WRITES_WAITING_MAX = 8;

/** The terminal's side of a script's write (TtyProcess). */
interface TerminalWrite {
  write(data: Uint8Array): Promise<void> | undefined;
  whenRoom(): Promise<void> | undefined;
}

/**
 * A script's writes to one PTY (WritePty), taken one at a time in arrival
 * order, each once the terminal has room for input (TerminalInput's bound).
 * A call that arrives while the program does not read holds only its own
 * request and adds nothing to what waits in the daemon; at most
 * PTY_WRITES_WAITING_MAX such calls wait, later ones are refused
 * (RESOURCE_EXHAUSTED), so scripts that keep writing to a program that never
 * reads cannot grow the daemon's memory.
 */
export class PtyWrites {
  private last: Promise<void> = Promise.resolve();
  private waiting = 0;

  constructor(
    private readonly ptyId: string,
    private readonly terminal: TerminalWrite,
  ) {}

  /** Resolves once the terminal has taken `data` for its program (or is gone). */
  async write(data: Uint8Array): Promise<void> {
    if (this.waiting >= PTY_WRITES_WAITING_MAX) {
      throw new TetherError(
        Code.ResourceExhausted,
        "PTY_INPUT_FULL",
        `pty ${this.ptyId} already has ${PTY_WRITES_WAITING_MAX} writes waiting: its program is not reading its input; try again once it does (tether pty attach ${this.ptyId} shows what it is doing)`,
        { pty: this.ptyId },
      );
    }
    this.waiting++;
    const turn = this.last.then(async () => {
      for (let room = this.terminal.whenRoom(); room !== undefined; room = this.terminal.whenRoom()) await room;
      void this.terminal.write(data);
    });
    this.last = turn;
    try {
      await turn;
    } finally {
      this.waiting--;
    }
  }
}
