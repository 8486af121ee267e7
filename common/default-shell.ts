import { userInfo } from "node:os";

/**
 * The program a terminal opens when given none, as tmux picks it: $SHELL,
 * else the user's login shell from the password database (a daemon under
 * systemd, a cron job, `env -i` have no SHELL), else /bin/sh.
 */
export function defaultShell(env: NodeJS.ProcessEnv): string {
  if (env["SHELL"]) return env["SHELL"];
  try {
    const shell = userInfo().shell;
    if (shell) return shell;
  } catch {
    // No entry for this user (a container's arbitrary uid): the shell every system has.
  }
  return "/bin/sh";
}
