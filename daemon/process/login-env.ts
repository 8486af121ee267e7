import { userInfo } from "node:os";

/**
 * The search path a login gives when nothing sets one: systemd's default
 * for its services (and what Debian's login gives root). `/usr/local/bin`
 * is where a Node, a Go or a pip installed by hand lives.
 */
export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/**
 * `env` with what a login gives every process filled in where it is
 * missing: HOME, USER, LOGNAME and SHELL from the password database, and
 * PATH, as login, cron and systemd set them. A daemon started with `env -i`,
 * in a container or by a supervisor that passes no environment (runit,
 * supervisord) has none, and its runs, execs and terminals had none either:
 * git, npm and ssh need HOME, and a command in /usr/local/bin was not found.
 * A variable set, even empty, is kept.
 */
export function withLoginEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const filled = { ...env };
  filled["PATH"] ??= DEFAULT_PATH;
  let user;
  try {
    user = userInfo();
  } catch {
    return filled; // No entry for this user (a container's arbitrary uid): nothing more to fill in from.
  }
  const login: Record<string, string> = { HOME: user.homedir, USER: user.username, LOGNAME: user.username, ...(user.shell ? { SHELL: user.shell } : {}) };
  for (const [name, value] of Object.entries(login)) filled[name] ??= value;
  return filled;
}
