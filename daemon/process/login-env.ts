import { userInfo } from "node:os";

/**
 * `env` with what a login gives every process filled in where it is
 * missing: HOME, USER, LOGNAME and SHELL from the password database, as
 * login, cron and systemd set them. A daemon started with `env -i`, in a
 * container or by a supervisor that passes no environment (runit,
 * supervisord) has none, and its runs, execs and terminals had none either:
 * git, npm and ssh need HOME. A variable set, even empty, is kept.
 */
export function withLoginEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  let user;
  try {
    user = userInfo();
  } catch {
    return env; // No entry for this user (a container's arbitrary uid): nothing to fill in from.
  }
  const login: Record<string, string> = { HOME: user.homedir, USER: user.username, LOGNAME: user.username, ...(user.shell ? { SHELL: user.shell } : {}) };
  const filled = { ...env };
  for (const [name, value] of Object.entries(login)) filled[name] ??= value;
  return filled;
}
