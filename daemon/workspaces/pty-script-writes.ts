import { Code } from "@connectrpc/connect";
import { TetherError } from "../errors.js";
import type { TtyProcess } from "../process/tty-process.js";
import { SCRIPT_WRITES_WAITING_MAX, ScriptWrites } from "./script-writes.js";

/** A PTY's writes from scripts: each waits until the terminal has room (TerminalInput's bound), then is written. */
export function ptyScriptWrites(id: string, terminal: TtyProcess): ScriptWrites {
  return new ScriptWrites(
    async (data) => {
      for (let room = terminal.whenRoom(); room !== undefined; room = terminal.whenRoom()) await room;
      void terminal.write(data);
    },
    () =>
      new TetherError(
        Code.ResourceExhausted,
        "INPUT_FULL",
        `pty ${id} already has ${SCRIPT_WRITES_WAITING_MAX} writes waiting: its program is not reading its input; try again once it does (tether pty attach ${id} shows what it is doing)`,
        { pty: id },
      ),
  );
}
