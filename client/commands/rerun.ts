import { parseCommandLine } from "../command-line.js";
import { SessionService } from "../../gen/tether/v1/session_service_pb.js";
import { CliError } from "../cli-error.js";
import { parsePairs, START_FLAGS, startFollowing } from "../flags.js";
import type { ClientPaths } from "../paths.js";
import { readSecret } from "../secret-prompt.js";
import { followStarted } from "../session-follower.js";
import { stdinIsTerminal } from "../stdin-kind.js";
import { connectToDaemon } from "../transport.js";

export const RERUN_USAGE = `  tether rerun S [--failed] [--input K=V ...] [-d | --wait [--timeout 60s]] [--external-id ID]
                                              start a session's task again as it ran (its graph, inputs,
                                              workspace and options; --input replaces one) and follow it;
                                              --failed: only what did not succeed and what waits on it, as
                                              GitHub's re-run failed jobs (the rest done, their results kept)`;

/**
 * `tether rerun`: starts a session's task again as it ran (RerunSession)
 * and follows it as `tether run` does. Secret inputs were never stored: on a
 * terminal each not given with --input is asked for.
 */
export async function rerunCommand(args: string[], paths: ClientPaths): Promise<number> {
  const { values, positionals } = parseCommandLine({
    args,
    allowPositionals: true,
    options: { ...START_FLAGS, failed: { type: "boolean", default: false } },
  });
  if (positionals.length !== 1) throw new CliError(`usage:\n${RERUN_USAGE}`, 2);
  const following = startFollowing(values);
  const inputs = parsePairs("--input", values.input);
  const { client } = await connectToDaemon(paths);
  const original = (await client.unary(SessionService.method.getSession, { name: `sessions/${positionals[0]}` })).session!;
  if (stdinIsTerminal()) {
    for (const [name, value] of Object.entries(original.inputs)) {
      if (value === SECRET_PLACEHOLDER && inputs[name] === undefined) inputs[name] = await readSecret(`${name} (secret, not stored with ${original.id}): `);
    }
  }
  const { session, alreadyExisted } = await client.unary(SessionService.method.rerunSession, { name: original.name, inputs, externalId: values["external-id"], failedOnly: values.failed });
  return followStarted(client, session!, alreadyExisted ? " (already started with this external id)" : ` again (a rerun of ${original.id})`, following);
}

/** How the daemon shows a secret input's value (never stored). */
const SECRET_PLACEHOLDER = "<secret>";
