/**
 * What a command that takes `X... | --label k=v` acts on (exec kill, stop,
 * wait and attach; pty kill): the refs named, or with labels every live one
 * (`which`: "running exec", "open PTY") that `labelled` lists with them, as
 * docker's `$(docker ps -q -f label=...)`; none such is said on stderr.
 */
export async function labelledOr(named: readonly string[], labels: readonly string[], which: string, labelled: () => Promise<string[]>): Promise<readonly string[]> {
  if (labels.length === 0) return named;
  const ids = await labelled();
  if (ids.length === 0) process.stderr.write(`no ${which} has the labels ${labels.join(", ")}\n`);
  return ids;
}
