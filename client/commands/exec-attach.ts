import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import { setTimeout as sleep } from "node:timers/promises";
import { ExecStatus, OutputStream, type Exec, type ExecExit, type ExecOutput } from "../../gen/tether/v1/exec_pb.js";
import { ExecService, type AttachExecRequestSchema } from "../../gen/tether/v1/exec_service_pb.js";
import { CliError, usageError, whenDaemonStopped } from "../cli-error.js";
import { parseCommandLine } from "../command-line.js";
import { dataBytes } from "../data-parts.js";
import { enumName } from "../enum-names.js";
import { reportExit, writeOutput } from "../exec-output.js";
import { parseSinceFlag, parseTailFlag, wholeNumberFlag } from "../flags.js";
import type { GrpcClient } from "../grpc-client.js";
import { OutputStampers } from "../line-stamper.js";
import { untilFlag } from "../output-until.js";
import type { ClientPaths } from "../paths.js";
import { ReplayFilter } from "../replay-filter.js";
import { programModes } from "../terminal.js";
import { connectToDaemon } from "../transport.js";
import { writeChunk } from "../write-chunk.js";
import { EXEC_USAGE } from "./exec.js";
import { attachMany } from "./exec-attach-many.js";
import { allExecs, namedOrSelected, queuedWords } from "./exec-list.js";

/** No E: the one exec that runs, as pueue follow takes the one running task; none or several is refused, naming them. */
async function theRunningExec(client: GrpcClient): Promise<string> {
  const running = (await allExecs(client, "", true)).filter((e) => e.status === ExecStatus.RUNNING);
  if (running.length === 1) return running[0]!.id;
  if (running.length === 0) throw new CliError("no exec runs: name the one to attach to (tether exec ls lists them all)", 1);
  const names = running.map((e) => e.displayName || e.id).join(", ");
  throw new CliError(`${running.length} execs run (${names}): name the one to attach to, or give several (tether exec attach E1 E2)`, 1);
}

/** `tether exec attach [E]`: an exec's output from an offset, a tail or a time, then live; -F on to the next exec of its name. */
export async function attachExec(args: string[], paths: ClientPaths): Promise<number> {
  const { values, positionals } = parseCommandLine({
    args,
    allowPositionals: true,
    options: {
      from: { type: "string" },
      tail: { type: "string", short: "n" },
      "no-follow": { type: "boolean", default: false },
      timestamps: { type: "boolean", short: "t", default: false },
      until: { type: "string" },
      since: { type: "string" },
      "follow-name": { type: "boolean", short: "F", default: false },
      label: { type: "string", short: "l", multiple: true, default: [] },
    },
  });
  // Several (E1 E2 ..., or every running one with labels): each line after its exec, from one start for all.
  if (positionals.length > 1 || values.label.length > 0) {
    if (positionals.length > 0 && values.label.length > 0) throw usageError(EXEC_USAGE, "tether exec attach");
    const alone = ([["--from", values.from], ["-F", values["follow-name"]], ["--until", values.until], ["-t", values.timestamps]] as const).find(([, value]) => value !== undefined && value !== false);
    if (alone !== undefined) throw new CliError(`${alone[0]} goes with one exec: several execs' output comes a line at a time after each one's name, from their start, --tail or --since`, 2);
    const start = { tailLines: parseTailFlag(values.tail, false, "lines"), sinceMs: parseSinceFlag(values.since, values.tail !== undefined), follow: !values["no-follow"] };
    const { client } = await connectToDaemon(paths);
    return attachMany(client, await namedOrSelected(client, positionals, { labels: values.label, queue: "" }), start);
  }
  if (positionals.length > 1) throw usageError(EXEC_USAGE, "tether exec attach");
  if (values["follow-name"] && values["no-follow"]) throw new CliError("-F follows an exec's name to the next exec started with it, and --no-follow stops at what is stored: drop one of them", 2);
  const until = untilFlag(values.until);
  const from = wholeNumberFlag("--from", values.from ?? "0", "a byte offset (0 is the beginning)");
  const tailLines = parseTailFlag(values.tail, values.from !== undefined, "lines");
  const sinceMs = parseSinceFlag(values.since, values.from !== undefined || values.tail !== undefined);
  const { client } = await connectToDaemon(paths);
  const stop = new AbortController();
  process.once("SIGINT", () => stop.abort());
  let id = positionals[0] ?? (await theRunningExec(client));
  // Where a reattach would go on from: known once output arrived, when the read started at a tail.
  let offset: number | undefined = tailLines === undefined && sinceMs === undefined ? from : undefined;
  // A terminal exec's full-screen program sets modes on this terminal too: undone when the viewer leaves.
  const modes = programModes();
  // A viewer types nothing: what its terminal answers to the program's queries would be typed into the shell after it, so none is asked.
  const queries = process.stdout.isTTY === true ? new ReplayFilter(Infinity) : undefined;
  // -t: lines, as docker logs -t shows them (a terminal exec's screen drawing is not lines: its bytes go out stamped all the same).
  const stampers = values.timestamps ? new OutputStampers() : undefined;
  let exit: ExecExit | undefined;
  // The exec followed, once the daemon has named it.
  let current: Exec | undefined;
  let request: MessageInitShape<typeof AttachExecRequestSchema> = { exec: id, fromOffset: BigInt(from), tailLines, noFollow: values["no-follow"], since: sinceMs === undefined ? undefined : timestampFromMs(sinceMs) };
  try {
    // -F: on to the next exec of its name (a restart, by its policy or by hand) as each ends, as tail -F reopens a file.
    for (;;) {
      exit = undefined;
      for await (const response of client.serverStream(ExecService.method.attachExec, request, { signal: stop.signal, dataParts: true })) {
        const kind = response.kind;
        if (kind.case === "exec") {
          current = kind.value;
          id = current.id;
          if (values["follow-name"] && current.displayName === "") throw new CliError(`-F follows an exec's name to the next exec started with it, and exec ${id} has none (exec --name gives one): attach without -F`, 2);
          if (current.status === ExecStatus.QUEUED && !values["no-follow"]) process.stderr.write(`tether: exec ${id} is queued${queuedWords(current)}: its output follows once it starts\n`);
        } else if (kind.case === "output") {
          offset = Number(kind.value.offset) + dataBytes(kind.value);
          // Read before the write takes the chunk's pieces.
          const matched = until?.seen(kind.value.stream, kind.value.data) === true;
          if (stampers !== undefined) await writeStamped(kind.value, stampers);
          else if (queries !== undefined && kind.value.stream === OutputStream.STDOUT) await writeChunk(process.stdout, queries.chunk(kind.value), modes.seen);
          else await writeOutput(kind.value, modes.seen);
          if (matched) {
            modes.leave();
            return 0;
          }
        } else if (kind.case === "exit") exit = kind.value;
      }
      if (!values["follow-name"] || exit === undefined || current === undefined) break;
      process.stderr.write(`tether: exec ${id} ${exitWords(exit)}; following the next exec named ${current.displayName} (Ctrl-C ends)\n`);
      id = (await nextExecNamed(client, current.workspace, current.displayName, current, stop.signal)).id;
      request = { exec: id };
      offset = 0;
    }
    modes.leave();
    if (until !== undefined) {
      if (exit !== undefined) reportExit(exit, id);
      throw until.notSeen(exit === undefined ? `exec ${id}'s output so far ends` : `exec ${id} ended`);
    }
    return exit === undefined ? 0 : reportExit(exit, id);
  } catch (error) {
    modes.leave();
    if (!stop.signal.aborted) throw whenDaemonStopped(error, id && `this command followed exec ${id}, which ended with it if it still ran (recorded lost); what it printed stays readable: tether exec attach ${id}`);
    const name = current?.displayName ?? id;
    if (values["follow-name"]) process.stderr.write(`\ndetached from the execs named ${name}. Follow them again: tether exec attach ${name} -F --tail 0   stop the running one: tether exec kill ${name}\n`);
    else if (current?.status === ExecStatus.QUEUED) process.stderr.write(`\ndetached; exec ${id} stays queued${queuedWords(current)}. Follow it: tether exec attach ${id}   take it out: tether exec stop ${id}\n`);
    else process.stderr.write(`\ndetached; exec ${id} keeps running. Reattach: tether exec attach ${id} ${offset === undefined ? "--tail 0" : `--from ${offset}`}   stop it: tether exec kill ${id}\n`);
    return 130;
  }
}

/** A chunk with each line that starts in it after the time it was stored. */
function writeStamped(output: ExecOutput, stampers: OutputStampers): Promise<number> {
  const stream = output.stream === OutputStream.STDERR ? "stderr" : "stdout";
  return writeChunk(process[stream], { data: stampers.stamp(stream, output.data, output.createTime) });
}

/** The exec started with `name` in `workspace` after `last` (its start), once there is one: the next, however soon it ended. */
async function nextExecNamed(client: GrpcClient, workspace: string, name: string, last: Exec, signal: AbortSignal): Promise<Exec> {
  const after = last.createTime === undefined ? 0 : timestampMs(last.createTime);
  for (;;) {
    // Newest first: the last of those started after it is the next (ids are not in order; start times are).
    const later = (await client.unary(ExecService.method.listExecs, { workspace, pageSize: NEXT_NAMED_PAGE }, { signal })).execs.filter(
      (e) => e.displayName === name && e.id !== last.id && e.createTime !== undefined && timestampMs(e.createTime) >= after,
    );
    if (later.length > 0) return later.at(-1)!;
    await sleep(NEXT_NAMED_POLL_MS, undefined, { signal });
  }
}

/** How many of a workspace's newest execs -F looks through for the next of a name. */
const NEXT_NAMED_PAGE = 100;

/** How often -F asks whether the next exec of a name has started. */
const NEXT_NAMED_POLL_MS = 250;

/** How an exec ended, in a few words: "exited 3", "was killed by SIGTERM". */
function exitWords(exit: ExecExit): string {
  if (exit.status === ExecStatus.SIGNALLED) return `was killed by ${exit.signal}`;
  if (exit.status === ExecStatus.EXITED) return `exited ${exit.exitCode}`;
  return `${enumName(ExecStatus, exit.status)}${exit.error !== "" ? `: ${exit.error}` : ""}`;
}

