import { Code } from "@connectrpc/connect";
import { TetherError } from "../errors.js";
import type { ExecProcess } from "./exec-process.js";
import { SCRIPT_WRITES_WAITING_MAX, ScriptWrites } from "./script-writes.js";

/** The most one WriteExecStdin writes. */
export const EXEC_STDIN_WRITE_MAX_BYTES = 1024 * 1024;

/**
 * A running exec's stdin, written by its own Exec call and by scripts
 * (WriteExecStdin, one write at a time: ScriptWrites). It is open while the
 * exec was started with stdin and nobody has closed it; a client that goes
 * away leaves it open, so a later script can go on feeding it or close it.
 */
export class ExecStdin {
  private readonly scripts: ScriptWrites;

  constructor(
    private readonly execId: string,
    private readonly process: ExecProcess,
    private open: boolean,
  ) {
    this.scripts = new ScriptWrites(
      async (data) => {
        // A write that waited its turn past a close is refused, not dropped.
        this.requireOpen();
        await this.process.write(data);
      },
      () =>
        new TetherError(
          Code.ResourceExhausted,
          "INPUT_FULL",
          `exec ${execId} already has ${SCRIPT_WRITES_WAITING_MAX} writes waiting: its command is not reading its stdin; try again once it does`,
          { exec: execId },
        ),
    );
  }

  /** Bytes from the exec's own call: resolves once the process has taken them. */
  write(data: Uint8Array): Promise<void> {
    return this.process.write(data);
  }

  /** Ends the input (a pipe's end, or Ctrl-D under a terminal); once. */
  close(): void {
    if (!this.open) return;
    this.open = false;
    this.process.closeStdin();
  }

  /** A script's write, then perhaps the close: resolves once the process has taken the bytes. */
  async writeFromScript(data: Uint8Array, close: boolean, signal: AbortSignal): Promise<void> {
    this.requireOpen();
    if (data.byteLength > 0) await this.scripts.write(data, signal);
    if (close) this.close();
  }

  private requireOpen(): void {
    if (this.open) return;
    throw new TetherError(
      Code.FailedPrecondition,
      "STDIN_CLOSED",
      `exec ${this.execId}'s stdin is closed (or it was started without one, as exec -d is unless -i): nothing more can be written to it`,
      { exec: this.execId },
    );
  }
}
