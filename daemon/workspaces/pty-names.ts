import { Code } from "@connectrpc/connect";
import { TetherError, invalidArgument } from "../errors.js";
import type { PtyRecord } from "./types.js";

/** A PTY's name, as a workspace's: letters, digits, '.', '_' or '-', starting with a letter or digit. */
const PTY_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/**
 * Checks the name a PTY is to open with (tmux new -s NAME): well formed, not
 * an id's shape (`p-…` names ids), and no open PTY's (`open` finds one), as
 * tmux's session names are unique; a closed PTY's name is free again.
 */
export function checkPtyName(name: string, open: (name: string) => PtyRecord | undefined): void {
  if (!PTY_NAME_PATTERN.test(name)) {
    throw invalidArgument("display_name", `PTY name ${JSON.stringify(name)} is invalid: use 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit`);
  }
  if (name.startsWith("p-")) throw invalidArgument("display_name", `PTY name ${JSON.stringify(name)} starts with p-, as PTY ids do: pick a name that does not`);
  const holder = open(name);
  if (holder !== undefined) {
    throw new TetherError(Code.AlreadyExists, "PTY_NAME_TAKEN", `PTY ${holder.id} is open with the name ${name}: attach to it (tether pty attach ${name}), or pick another name`, { pty: holder.id, name });
  }
}
