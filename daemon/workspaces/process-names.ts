import { Code } from "@connectrpc/connect";
import { TetherError, invalidArgument, type ErrorReasonName } from "../errors.js";

/** A process's name, as a workspace's: letters, digits, '.', '_' or '-', starting with a letter or digit. */
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** How a kind of process that can have a name (PTY, exec) speaks of it. */
export interface NamedKind {
  /** The kind in prose: "PTY", "exec". */
  readonly noun: string;
  /** What its ids start with: a name may not. */
  readonly idPrefix: string;
  /** The state in which it holds its name: "open", "running". */
  readonly holding: string;
  readonly takenReason: ErrorReasonName;
  /** What a user whose name is taken can do with the holder, in the error. */
  readonly takenHint: (name: string) => string;
}

export const PTY_NAMES: NamedKind = {
  noun: "PTY",
  idPrefix: "p-",
  holding: "open",
  takenReason: "PTY_NAME_TAKEN",
  takenHint: (name) => `attach to it (tether pty attach ${name}), or pick another name`,
};

export const EXEC_NAMES: NamedKind = {
  noun: "exec",
  idPrefix: "e-",
  holding: "running",
  takenReason: "EXEC_NAME_TAKEN",
  takenHint: (name) => `attach to it (tether exec attach ${name}), stop it (tether exec kill ${name}), or pick another name`,
};

/**
 * Checks the name a process is to have (tmux new -s NAME, docker run
 * --name): well formed, not an id's shape, and no live one's (`holder` finds
 * it), so a name names one live process; an ended one's name is free again.
 */
export function checkProcessName(kind: NamedKind, name: string, holder: (name: string) => { readonly id: string; readonly status?: string } | undefined): void {
  if (!NAME_PATTERN.test(name)) {
    throw invalidArgument("display_name", `${kind.noun} name ${JSON.stringify(name)} is invalid: use 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit`);
  }
  if (name.startsWith(kind.idPrefix)) {
    throw invalidArgument("display_name", `${kind.noun} name ${JSON.stringify(name)} starts with ${kind.idPrefix}, as ${kind.noun} ids do: pick a name that does not`);
  }
  const taken = holder(name);
  if (taken !== undefined) {
    // A queued exec holds its name too, before it runs.
    const holding = taken.status === "queued" ? "queued" : kind.holding;
    throw new TetherError(Code.AlreadyExists, kind.takenReason, `${kind.noun} ${taken.id} is ${holding} with the name ${name}: ${kind.takenHint(name)}`, {
      [kind.noun.toLowerCase()]: taken.id,
      name,
    });
  }
}
