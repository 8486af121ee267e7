import { setTimeout as sleep } from "node:timers/promises";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { ExecStatus, OutputStream, RestartMode, type ExecExit, type ExecOutput, type RestartPolicySchema } from "../../gen/tether/v1/exec_pb.js";
import { ExecService, type AttachExecRequestSchema, type ExecRequestSchema } from "../../gen/tether/v1/exec_service_pb.js";
import { CliError, subcommandMeant, usageError, whenDaemonStopped } from "../cli-error.js";
import { parseCommandLine, splitCommand } from "../command-line.js";
import { stdinIsNull } from "../stdin-kind.js";
import { dataBytes } from "../data-parts.js";
import { enumName } from "../enum-names.js";
import { inputOf, sendInPieces } from "../input-pieces.js";
import { OutputStampers } from "../line-stamper.js";
import { terminalEnv } from "../terminal-env.js";
import { parseDurationFlag, parseEnvFlags, parseSinceFlag, parseSizeFlag, parseTailFlag, wholeNumberFlag } from "../flags.js";
import { untilFlag } from "../output-until.js";
import { type ClientPaths, workspaceArg } from "../paths.js";
import { ReplayFilter } from "../replay-filter.js";
import type { GrpcClient } from "../grpc-client.js";
import { removeAll, removeEach } from "../remove-each.js";
import { RequestMerge } from "../request-merge.js";
import { programModes, rawTerminal } from "../terminal.js";
import { connectToDaemon } from "../transport.js";
import { allExecs, listExecs, showExec } from "./exec-list.js";
import { writeChunk } from "../write-chunk.js";

export const EXEC_USAGE = `  tether exec WS [-d [-i]] [-t] [--rm] [--name NAME] [--restart POLICY] [--cwd DIR] [--env K=V|K ...] [--max-output SIZE] -- CMD ARGS...
                                              run a command in a workspace: its stdout and stderr, stdin from
                                              yours, Ctrl-C to it, its exit code; -d returns its id at once
                                              (-i: with its stdin open for exec send), -t runs it under a terminal;
                                              --name: a name to attach, send, kill ... it by too, as docker run --name
                                              (unique among running execs; then it names the newest that had it)
                                              --restart on-failure[:N] | always: start it again when it ends by itself
                                              (not after exec kill or Ctrl-C), as docker run --restart, with the same name
                                              --rm removes it and its output once it has ended (docker run --rm);
                                              --max-output 100M keeps only its last 100 MiB (docker's max-size)
  tether exec send E [TEXT... | -] [--line] [--close]
                                              write to an exec's stdin (pueue send): the words joined by spaces
                                              (--line adds a newline), or - for what stdin holds; --close ends it
  tether exec attach E [--from OFFSET | -n/--tail N | --since 10m] [--no-follow | -F] [-t] [--until PATTERN]
                                              an exec's output from a byte offset (0: all of it), its
                                              last N lines (0: only new output) or a time (as logs), then live;
                                              -t/--timestamps: each line after the time it was stored;
                                              --until: up to a line the regular expression matches (exit 0;
                                              1 when the output ends without one);
                                              -F: on to the next exec of its name as each ends (a restart), as tail -F
  tether exec ls [WS] [--running] [--json]    execs, newest first
  tether exec show E [--json]                 one exec: command, status, exit, byte counts
  tether exec kill E [--signal S]             signal an exec's process group (default SIGTERM)
  tether exec restart E [--grace 5s]          start its command again as it was started (workspace, cwd, env, name, ...),
                                              as a new exec, once a running one has stopped (SIGTERM, SIGKILL
                                              after the grace), as docker restart; prints the new one's id
  tether exec rm E... | exec rm --ended [WS]  remove ended execs (all, or a workspace's) with all of their output`;

type Request = MessageInitShape<typeof ExecRequestSchema>;

/** `tether exec ...`: run, reattach, list, show and signal execs. */
export async function execCommand(args: string[], paths: ClientPaths): Promise<number> {
  switch (args[0]) {
    case "attach":
      return attach(args.slice(1), paths);
    case "ls":
      return listExecs(args.slice(1), paths);
    case "show":
      return showExec(args.slice(1), paths);
    case "send":
      return send(args.slice(1), paths);
    case "kill":
      return kill(args.slice(1), paths);
    case "rm":
      return remove(args.slice(1), paths);
    case "restart":
      return restart(args.slice(1), paths);
    default:
      return run(args, paths).catch((error: unknown) => {
        throw subcommandMeant(error, "tether exec", ["attach", "ls", "show", "send", "kill", "rm", "restart"]);
      });
  }
}

/**
 * Ctrl-C this many times within DETACH_INTERRUPTS_WITHIN_MS leaves the
 * command running and detaches: each goes to the command, and one that
 * ignores SIGINT would otherwise hold the terminal until it ends.
 */
const DETACH_INTERRUPTS = 3;
const DETACH_INTERRUPTS_WITHIN_MS = 2_000;

/** Options that take a value: the command starts at the first other word after WS. */
const VALUE_OPTIONS = new Set(["--cwd", "--env", "-e", "--max-output", "--name", "--restart"]);

async function run(args: string[], paths: ClientPaths): Promise<number> {
  const { options, command } = splitCommand(args, VALUE_OPTIONS);
  const { values, positionals } = parseCommandLine({
    args: options,
    allowPositionals: true,
    options: {
      detach: { type: "boolean", short: "d", default: false },
      interactive: { type: "boolean", short: "i", default: false },
      tty: { type: "boolean", short: "t", default: false },
      rm: { type: "boolean", default: false },
      cwd: { type: "string", default: "" },
      env: { type: "string", short: "e", multiple: true, default: [] },
      "max-output": { type: "string" },
      name: { type: "string", default: "" },
      restart: { type: "string", default: "no" },
    },
  });
  if (positionals.length !== 1 || command.length === 0) throw usageError(EXEC_USAGE, "tether exec WS");
  const restartPolicy = parseRestartFlag(values.restart);
  if (restartPolicy !== undefined && values.rm) throw new CliError("--rm removes the exec once it ends, and --restart starts it again then: drop one of them", 2);
  const outputMaxBytes = values["max-output"] === undefined ? 0 : parseSizeFlag("--max-output", values["max-output"]);
  if (values.rm && values.detach) throw new CliError("--rm removes the exec once this command sees it end, and -d does not wait for the end: drop -d or --rm (tether exec rm E removes an ended exec)", 2);
  const terminal = values.tty && process.stdin.isTTY === true && process.stdout.isTTY === true;
  // Stdin that is /dev/null (a script's `< /dev/null`, a service's, a benchmark's) has nothing to send: the
  // command gets an empty stdin of its own, and this CLI never sets up Node's stdin stream (~3.5 ms, and ~1.5
  // more to its end). Under a terminal (-t) the end of stdin is a Ctrl-D typed to the program: sent as before.
  const readsStdin = !values.detach && (values.tty || !stdinIsNull());
  const start: Request = {
    kind: {
      case: "start",
      value: {
        workspace: workspaceArg(positionals[0]!),
        argv: command,
        cwd: values.cwd,
        env: { ...(values.tty ? { TERM: process.env["TERM"] ?? "xterm-256color", ...terminalEnv(process.env, terminal) } : {}), ...parseEnvFlags(values.env) },
        tty: values.tty,
        size: terminal ? { cols: process.stdout.columns, rows: process.stdout.rows } : undefined,
        outputMaxBytes: BigInt(outputMaxBytes),
        displayName: values.name,
        restartPolicy,
        // Detached, stdin is open only with -i (docker's -d -i), for tether exec send.
        stdin: readsStdin || values.interactive,
      },
    },
  };
  const { client } = await connectToDaemon(paths);
  const stop = new AbortController();
  const stdinChunks = !readsStdin ? undefined : (async function* (): AsyncGenerator<Request> {
    for await (const chunk of process.stdin) yield { kind: { case: "stdin", value: chunk as Buffer } };
  })();
  const merged = new RequestMerge<Request>(stdinChunks, () => ({ kind: { case: "closeStdin", value: true } }));
  async function* requests(): AsyncGenerator<Request> {
    yield start;
    yield* merged;
  }
  const local = terminal ? rawTerminal((size) => merged.push({ kind: { case: "resize", value: size } })) : undefined;
  // Ctrl-C (outside raw mode) goes to the command, not to this CLI; pressed again and again, it detaches.
  const interrupts: number[] = [];
  const onSigint = (): void => {
    merged.push({ kind: { case: "signal", value: "SIGINT" } });
    interrupts.push(Date.now());
    if (interrupts.length >= DETACH_INTERRUPTS && Date.now() - interrupts.at(-DETACH_INTERRUPTS)! <= DETACH_INTERRUPTS_WITHIN_MS) stop.abort();
  };
  if (!values.detach) process.on("SIGINT", onSigint);
  let id = "";
  try {
    for await (const response of client.bidiStream(ExecService.method.exec, requests(), { signal: stop.signal, dataParts: true })) {
      const kind = response.kind;
      if (kind.case === "started") {
        id = kind.value.exec!.id;
        if (values.detach) {
          process.stdout.write(`${kind.value.exec!.id}\n`);
          stop.abort();
          return 0;
        }
      } else if (kind.case === "output") {
        await writeOutput(kind.value, local?.seen);
      } else if (kind.case === "exit") {
        const code = reportExit(kind.value, command[0]!);
        if (values.rm) await removeEnded(client, id);
        return code;
      }
    }
    throw new CliError("the daemon ended the exec call without its exit: tether exec ls shows the exec; tether exec attach reattaches", 1);
  } catch (error) {
    if (values.detach && stop.signal.aborted) return 0;
    if (stop.signal.aborted && id !== "") {
      const kept = values.rm ? ", and stays once it ends (--rm removes only what this command saw end)" : "";
      process.stderr.write(`\ntether: exec ${id} goes on (Ctrl-C ${DETACH_INTERRUPTS} times detaches)${kept}. Reattach: tether exec attach ${id} --tail 0   stop it: tether exec kill ${id} --signal KILL\n`);
      return 130;
    }
    // Under a terminal the error goes after the line the command's output left the cursor on.
    if (local !== undefined) process.stderr.write("\r\n");
    throw whenDaemonStopped(error, id && `exec ${id} ran, which ended with it (recorded lost); what it printed stays readable: tether exec attach ${id}`);
  } finally {
    local?.restore();
    process.off("SIGINT", onSigint);
    merged.end();
    if (readsStdin) process.stdin.destroy();
  }
}

/** `--restart no | on-failure[:N] | always`, as docker run --restart takes it. */
function parseRestartFlag(value: string): MessageInitShape<typeof RestartPolicySchema> | undefined {
  const match = /^(no|always|on-failure)(?::(\d+))?$/.exec(value);
  if (match === null || (match[2] !== undefined && match[1] !== "on-failure")) {
    throw new CliError(`--restart takes no, on-failure, on-failure:N (at most N restarts) or always, as docker run --restart, got ${JSON.stringify(value)}`, 2);
  }
  if (match[1] === "no") return undefined;
  return { mode: match[1] === "always" ? RestartMode.ALWAYS : RestartMode.ON_FAILURE, maxRestarts: Number(match[2] ?? 0) };
}

async function send(args: string[], paths: ClientPaths): Promise<number> {
  const { values, positionals } = parseCommandLine({
    args,
    allowPositionals: true,
    options: { line: { type: "boolean", default: false }, close: { type: "boolean", default: false } },
  });
  if (positionals.length === 0 || (positionals.length === 1 && !values.line && !values.close)) throw usageError(EXEC_USAGE, "tether exec send");
  const [ref, ...words] = positionals as [string, ...string[]];
  const data = await inputOf(words, values.line ? "\n" : "");
  const { client } = await connectToDaemon(paths);
  await sendInPieces(data, (piece, last) => client.unary(ExecService.method.writeExecStdin, { exec: ref, data: piece, close: values.close && last }));
  return 0;
}

async function attach(args: string[], paths: ClientPaths): Promise<number> {
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
    },
  });
  if (positionals.length !== 1) throw usageError(EXEC_USAGE, "tether exec attach");
  if (values["follow-name"] && values["no-follow"]) throw new CliError("-F follows an exec's name to the next exec started with it, and --no-follow stops at what is stored: drop one of them", 2);
  const until = untilFlag(values.until);
  const from = wholeNumberFlag("--from", values.from ?? "0", "a byte offset (0 is the beginning)");
  const tailLines = parseTailFlag(values.tail, values.from !== undefined, "lines");
  const sinceMs = parseSinceFlag(values.since, values.from !== undefined || values.tail !== undefined);
  const { client } = await connectToDaemon(paths);
  const stop = new AbortController();
  process.once("SIGINT", () => stop.abort());
  let id = positionals[0]!;
  // Where a reattach would go on from: known once output arrived, when the read started at a tail.
  let offset: number | undefined = tailLines === undefined && sinceMs === undefined ? from : undefined;
  // A terminal exec's full-screen program sets modes on this terminal too: undone when the viewer leaves.
  const modes = programModes();
  // A viewer types nothing: what its terminal answers to the program's queries would be typed into the shell after it, so none is asked.
  const queries = process.stdout.isTTY === true ? new ReplayFilter(Infinity) : undefined;
  // -t: lines, as docker logs -t shows them (a terminal exec's screen drawing is not lines: its bytes go out stamped all the same).
  const stampers = values.timestamps ? new OutputStampers() : undefined;
  let exit: ExecExit | undefined;
  let name = "";
  let workspace = "";
  let request: MessageInitShape<typeof AttachExecRequestSchema> = { exec: id, fromOffset: BigInt(from), tailLines, noFollow: values["no-follow"], since: sinceMs === undefined ? undefined : timestampFromMs(sinceMs) };
  try {
    // -F: on to the next exec of its name (a restart, by its policy or by hand) as each ends, as tail -F reopens a file.
    for (;;) {
      exit = undefined;
      for await (const response of client.serverStream(ExecService.method.attachExec, request, { signal: stop.signal, dataParts: true })) {
        const kind = response.kind;
        if (kind.case === "exec") {
          ({ id, displayName: name, workspace } = kind.value);
          if (values["follow-name"] && name === "") throw new CliError(`-F follows an exec's name to the next exec started with it, and exec ${id} has none (exec --name gives one): attach without -F`, 2);
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
      if (!values["follow-name"] || exit === undefined) break;
      process.stderr.write(`tether: exec ${id} ${exitWords(exit)}; following the next exec named ${name} (Ctrl-C ends)\n`);
      id = await nextExecNamed(client, workspace, name, id, stop.signal);
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
    if (values["follow-name"]) process.stderr.write(`\ndetached from the execs named ${name}. Follow them again: tether exec attach ${name} -F --tail 0   stop the running one: tether exec kill ${name}\n`);
    else process.stderr.write(`\ndetached; exec ${id} keeps running. Reattach: tether exec attach ${id} ${offset === undefined ? "--tail 0" : `--from ${offset}`}   stop it: tether exec kill ${id}\n`);
    return 130;
  }
}

async function kill(args: string[], paths: ClientPaths): Promise<number> {
  const { values, positionals } = parseCommandLine({ args, allowPositionals: true, options: { signal: { type: "string", short: "s", default: "SIGTERM" } } });
  if (positionals.length !== 1) throw usageError(EXEC_USAGE, "tether exec kill");
  const { client } = await connectToDaemon(paths);
  const { exec } = await client.unary(ExecService.method.signalExec, { exec: positionals[0]!, signal: values.signal });
  process.stdout.write(`sent ${values.signal} to ${exec!.id}\n`);
  return 0;
}

async function restart(args: string[], paths: ClientPaths): Promise<number> {
  const { values, positionals } = parseCommandLine({ args, allowPositionals: true, options: { grace: { type: "string" } } });
  if (positionals.length !== 1) throw usageError(EXEC_USAGE, "tether exec restart");
  const grace = values.grace === undefined ? undefined : parseDurationFlag("--grace", values.grace);
  const { client } = await connectToDaemon(paths);
  const { exec } = await client.unary(ExecService.method.restartExec, { exec: positionals[0]!, grace });
  if (exec!.status === ExecStatus.FAILED_TO_START) {
    process.stderr.write(`tether: exec ${exec!.id} could not start: ${exec!.error}\n`);
    return exec!.exitCode;
  }
  process.stdout.write(`${exec!.id}\n`);
  return 0;
}

async function remove(args: string[], paths: ClientPaths): Promise<number> {
  const { values, positionals } = parseCommandLine({ args, allowPositionals: true, options: { ended: { type: "boolean", default: false } } });
  if (values.ended ? positionals.length > 1 : positionals.length === 0) throw usageError(EXEC_USAGE, "tether exec rm");
  const { client } = await connectToDaemon(paths);
  const removeOne = async (ref: string): Promise<{ id: string; outputBytes: bigint }> => {
    const { exec, outputBytes } = await client.unary(ExecService.method.deleteExec, { exec: ref });
    return { id: exec!.id, outputBytes };
  };
  if (!values.ended) return removeEach(positionals, removeOne);
  const ended = (await allExecs(client, positionals[0] ?? "", false)).filter((e) => e.status !== ExecStatus.RUNNING);
  return removeAll(ended.map((e) => e.id), removeOne, "ended exec(s)");
}

/**
 * `--rm`: the exec this command followed to its end goes, with its output,
 * as `docker run --rm` takes its container. One that cannot be removed is
 * said on stderr and left; the command's exit code stays the command's.
 */
async function removeEnded(client: GrpcClient, id: string): Promise<void> {
  try {
    await client.unary(ExecService.method.deleteExec, { exec: id });
  } catch (error) {
    process.stderr.write(`tether: exec ${id} ended but was not removed (--rm): ${(error as Error).message}\n`);
  }
}

/** A chunk with each line that starts in it after the time it was stored. */
function writeStamped(output: ExecOutput, stampers: OutputStampers): Promise<number> {
  const stream = output.stream === OutputStream.STDERR ? "stderr" : "stdout";
  return writeChunk(process[stream], { data: stampers.stamp(stream, output.data, output.createTime) });
}

/** Writes an output chunk to stdout or stderr, as the command wrote it, stdout's shown to `seen` first; resolves to its size. */
function writeOutput(output: ExecOutput, seen?: (bytes: Buffer) => void): Promise<number> {
  if (output.stream === OutputStream.STDERR) return writeChunk(process.stderr, output);
  return writeChunk(process.stdout, output, seen);
}

/** The exec started with `name` after exec `last` in `workspace`, once there is one: the next, however soon it ended. */
async function nextExecNamed(client: GrpcClient, workspace: string, name: string, last: string, signal: AbortSignal): Promise<string> {
  for (;;) {
    // Newest first: the one before `last` came after it (`last` gone from the page: the oldest of the name there).
    const named = (await client.unary(ExecService.method.listExecs, { workspace, pageSize: NEXT_NAMED_PAGE }, { signal })).execs.filter((e) => e.displayName === name);
    const at = named.findIndex((e) => e.id === last);
    if (at > 0) return named[at - 1]!.id;
    if (at === -1 && named.length > 0) return named.at(-1)!.id;
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

function reportExit(exit: ExecExit, what: string): number {
  switch (exit.status) {
    case ExecStatus.FAILED_TO_START:
      process.stderr.write(`tether: cannot start ${what}: ${exit.error}\n`);
      return exit.exitCode;
    case ExecStatus.LOST:
      process.stderr.write(`tether: exec lost: ${exit.error}\n`);
      return 1;
    default:
      // It ran, but part of its output could not be stored.
      if (exit.error !== "") process.stderr.write(`tether: ${exit.error}\n`);
      return exit.exitCode;
  }
}
