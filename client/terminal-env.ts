/**
 * What a terminal opened from this CLI (`tether pty`, `exec -t`) takes from
 * the CLI's environment, as ssh sends it to the other end (Debian's
 * `SendEnv LANG LC_*`, and the terminal's type): the locale, so a shell that
 * a daemon without one started (a daemon started by a script, a cron job, a
 * supervisor) reads and shows UTF-8 as this shell does; and, when this
 * terminal is the one that shows it, its TERM and COLORTERM (a TERM of
 * `dumb` says nothing of the terminal that will show it: the daemon's
 * xterm-256color stays). `--env` wins over each.
 */
export function terminalEnv(env: NodeJS.ProcessEnv, showing: boolean): Record<string, string> {
  const sent: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || value === "") continue;
    if (name === "LANG" || name === "LANGUAGE" || name.startsWith("LC_")) sent[name] = value;
  }
  if (showing) {
    if (env["TERM"] !== undefined && env["TERM"] !== "" && env["TERM"] !== "dumb") sent["TERM"] = env["TERM"];
    if (env["COLORTERM"] !== undefined && env["COLORTERM"] !== "") sent["COLORTERM"] = env["COLORTERM"];
  }
  return sent;
}
