import { accessSync, constants, statSync } from "node:fs";
import { userInfo } from "node:os";
import { isAbsolute } from "node:path";

/**
 * The program a terminal opens when given none, as tmux picks it: $SHELL,
 * else the user's login shell from the password database (a daemon under
 * systemd, a cron job, `env -i` have no SHELL), else /bin/sh. A shell that
 * cannot run (not an absolute path, gone, not an executable file: a SHELL
 * left from another machine) is passed over for the next, as tmux's checkshell does.
 */
export function defaultShell(env: NodeJS.ProcessEnv): string {
  if (runnable(env["SHELL"])) return env["SHELL"]!;
  try {
    const shell = userInfo().shell;
    if (runnable(shell)) return shell!;
  } catch {
    // No entry for this user (a container's arbitrary uid): the shell every system has.
  }
  return "/bin/sh";
}

function runnable(shell: string | null | undefined): boolean {
  if (!shell || !isAbsolute(shell)) return false;
  try {
    accessSync(shell, constants.X_OK);
    return statSync(shell).isFile();
  } catch {
    return false;
  }
}
