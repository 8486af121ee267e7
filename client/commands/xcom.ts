import { parseCommandLine } from "../command-line.js";
import { SessionService } from "../../gen/tether/v1/session_service_pb.js";
import { CliError, unknownSubcommand } from "../cli-error.js";
import type { ClientPaths } from "../paths.js";
import { connectToDaemon } from "../transport.js";

export const XCOM_USAGE = `  tether xcom get KEY [--session S]           a value of the session's shared store (in a run: this session)
  tether xcom set KEY VALUE [--session S]`;

/** `tether xcom`: inside a run, TETHER_SESSION names the session. */
export async function xcomCommand(args: string[], paths: ClientPaths): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== "get" && sub !== "set") throw unknownSubcommand("tether xcom", sub, ["get", "set"], `usage:\n${XCOM_USAGE}\n(tether show S lists a session's values)`);
  const { values, positionals } = parseCommandLine({ args: rest, allowPositionals: true, options: { session: { type: "string", short: "s" } } });
  const session = values.session ?? process.env["TETHER_SESSION"];
  if (session === undefined || session === "") throw new CliError("name the session with --session S (inside a run, TETHER_SESSION does)", 2);
  const { client } = await connectToDaemon(paths);
  switch (sub) {
    case "get": {
      if (positionals.length !== 1) throw new CliError(`usage:\n${XCOM_USAGE}`, 2);
      const { entry } = await client.unary(SessionService.method.getXcom, { session: `sessions/${session}`, key: positionals[0]! });
      process.stdout.write(`${entry!.value}\n`);
      return 0;
    }
    case "set": {
      if (positionals.length !== 2) throw new CliError(`usage:\n${XCOM_USAGE}`, 2);
      await client.unary(SessionService.method.setXcom, { session: `sessions/${session}`, key: positionals[0]!, value: positionals[1]! });
      return 0;
    }
  }
}
