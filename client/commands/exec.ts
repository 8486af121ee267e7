import type { ParseArgsConfig } from "node:util";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { ExecStatus, RestartMode, type Exec, type RestartPolicySchema } from "../../gen/tether/v1/exec_pb.js";
import { ExecService, type ExecRequestSchema } from "../../gen/tether/v1/exec_service_pb.js";
import { ErrorReason } from "../../gen/tether/v1/errors_pb.js";
import { CliError, subcommandMeant, usageError, usageErrorMeant, whenDaemonStopped } from "../cli-error.js";
import { parseCommandLine, splitCommand } from "../command-line.js";
import { stdinIsNull } from "../stdin-kind.js";
import { execEndLine, reportExit, writeOutput } from "../exec-output.js";
import { inputOf, sendInPieces } from "../input-pieces.js";
import { terminalEnv } from "../terminal-env.js";
import { READINESS_FLAGS, readinessFromFlags } from "../readiness-flags.js";
import { afterRefs, ENV_FLAGS, endedBeforeFlag, envFromFlags, integerFlag, parseDurationFlag, parsePairs, parseSizeFlag, parseStartAtFlag } from "../flags.js";
import { type ClientPaths, workspaceArg } from "../paths.js";
import { RpcError, type GrpcClient } from "../grpc-client.js";
import { endedBy, removeAll, removeEach } from "../remove-each.js";
import { RequestMerge } from "../request-merge.js";
import { rawTerminal } from "../terminal.js";
import { connectToDaemon } from "../transport.js";
import { attachExec } from "./exec-attach.js";
import { allExecs, execSelector, listExecs, namedOrSelected, queuedWords, selects, showExec } from "./exec-list.js";
import { waitExecs } from "./exec-wait.js";
import { execQueues } from "./exec-queue.js";
import { EXEC_PAUSE_USAGE, pauseExecs } from "./exec-pause.js";

export const EXEC_USAGE = `  tether exec WS [-d [-i]] [-t] [--rm] [--name NAME [-A]] [--restart POLICY] [--queue Q [--priority N]] [--after E ...] [--delay 10m | --at TIME] [--ready-http URL | --ready-tcp H:P | --ready-cmd CMD [--ready-interval 1s] [--ready-timeout 60s] [--health-interval 30s]] [--label k=v ...] [--timeout 10m] [--cwd DIR] [-E] [--env K=V|K ...] [--dotenv F ...] [--max-output SIZE] -- CMD ARGS...
                                              run a command in a workspace: its stdout and stderr, stdin from
                                              yours, Ctrl-C to it, its exit code; -d returns its id at once
                                              (-i: with its stdin open for exec send), -t runs it under a terminal;
                                              --name: a name to attach, send, kill ... it by too, as docker run --name
                                              (unique among running execs; then it names the newest that had it),
                                              -A: on with the running one of that name if there is one (as pty -A):
                                              attach to it, or with -d print its id
                                              --restart on-failure[:N] | always: start it again when it ends by itself
                                              (not after exec kill or Ctrl-C), as docker run --restart, with the same name
                                              --rm removes it and its output once it has ended (docker run --rm);
                                              --max-output 100M keeps only its last 100 MiB (docker's max-size)
                                              --dotenv F: the variables of a dotenv file, as docker run --env-file
                                              -E/--inherit-env: this shell's environment (a venv's, nvm's PATH), as
                                              nohup and pueue add give it; --dotenv and --env over it
                                              --timeout 10m: stop it once it has run that long (SIGTERM, SIGKILL 5s
                                              later), as a CI step's timeout
                                              --queue Q: run it in queue Q, as pueue add does in a group: it waits
                                              (queued, across daemon restarts too) until fewer of Q's execs run
                                              than Q's limit (1 until exec queue sets it), in the order they came;
                                              --priority N: before those of a lower one (pueue add --priority)
                                              --after E: start it once exec E has ended (each of several), as pueue
                                              add --after; if one did not exit 0 it never runs (cancelled)
                                              --delay 10m, --at 03:00 (or 2026-12-08T03:00): start it no sooner,
                                              as pueue add --delay (queued until then, across daemon restarts)
                                              --ready-http URL, --ready-tcp HOST:PORT, --ready-cmd CMD: when it is
                                              ready (a dev server that answers), checked every --ready-interval (1s)
                                              for up to --ready-timeout (60s), as docker's healthcheck: exec ls says
                                              (ready), (starting) or (not ready; it runs on); once ready, checked
                                              every --health-interval (30s; 0: not): 3 failing in a row, (unhealthy)
                                              until one passes; exec wait --ready waits
  tether exec queue [Q [--parallel N] [--pause | --resume] [--reset]] [--json]
                                              the queues (of execs, and of runs of tasks with queue:): their limits,
                                              what runs and waits; --parallel sets how many of Q's run at once
                                              (pueue parallel); --pause: none of its waiting ones starts (the
                                              running go on) until --resume; --reset forgets its settings
                                              (one at a time, resumed)
  tether exec send E [TEXT... | -] [--line] [--close]
                                              write to an exec's stdin (pueue send): the words joined by spaces
                                              (--line adds a newline), or - for what stdin holds; --close ends it
  tether exec attach [E] [--from OFFSET | -n/--tail N | --since 10m] [--no-follow | -F] [-t] [--until PATTERN]
                                              an exec's output from a byte offset (0: all of it), its
                                              last N lines (0: only new output) or a time (as logs), then live;
                                              without E, of the one exec that runs (as pueue follow);
                                              -t/--timestamps: each line after the time it was stored;
                                              --until: up to a line the regular expression matches (exit 0;
                                              1 when the output ends without one);
                                              -F: on to the next exec of its name as each ends (a restart), as tail -F
  tether exec attach E1 E2... | --label k=v|k ... [-n/--tail N | --since 10m] [--no-follow]
                                              several execs' output at once (every running one with the labels),
                                              each line after its exec's name, as docker compose logs
  tether exec ls [WS] [--running] [--label k=v|k ...] [--queue Q] [--json | -q]
                                              execs, newest first (--running: running or queued;
                                              --label: those with label k set to v, or set; --queue: Q's;
                                              -q/--quiet: their ids alone, as docker ps -q)
  tether exec show E [--json]                 one exec: command, status, exit, byte counts
  tether exec kill E [--signal S]             signal an exec's process group (default SIGTERM)
  tether exec kill --label k=v|k ... | --queue Q [--signal S]
                                              signal every running exec with those labels, or in queue Q
                                              (its waiting ones never run: cancelled), as pueue kill --group
  tether exec stop E... | --label k=v|k ... | --queue Q [--grace 5s]
                                              stop each as docker stop: SIGTERM, SIGKILL after the grace, then a line
                                              saying how it ended (its restart policy does not start it again)
${EXEC_PAUSE_USAGE}
  tether exec start E...                      start each queued one now (pueue start): whatever it waits for (its
                                              time, the execs it is to start after, its queue's turn); it counts in
                                              its queue while it runs, past the queue's limit if need be
  tether exec restart E [--grace 5s]          start its command again as it was started (workspace, cwd, env, name, ...),
                                              as a new exec, once a running one has stopped (SIGTERM, SIGKILL
                                              after the grace), as docker restart; prints the new one's id
  tether exec wait E... | --label k=v|k ... | --queue Q [--ready] [--timeout 30m] [--json]
                                              block until each has ended (its restarts too), as docker wait and
                                              pueue wait: a line for each, and its exit code (with several: the
                                              first that failed); --label: every running one with those labels;
                                              --queue: every one running or waiting in Q (pueue wait --group);
                                              --timeout: exit 124 if one still runs by then;
                                              --ready: until each is ready instead (its --ready-* checks passed), as
                                              docker compose up --wait: exit 1 if one is not, or ends first
  tether exec rename E NAME                   name an exec anew, as docker rename (attach, wait, ... by it; its restarts
                                              take it too); "" takes its name away
  tether exec rm E... | exec rm --ended [WS] [--older-than 7d] [-s]
                                              remove ended execs (all, or a workspace's; that ended that long ago)
                                              with all of their output; -s/--successful: those that exited 0 alone,
                                              as pueue clean -s (the failures stay to look into)`;

type Request = MessageInitShape<typeof ExecRequestSchema>;

const SUBCOMMANDS = ["attach", "ls", "show", "send", "kill", "stop", "pause", "resume", "rm", "restart", "start", "wait", "queue", "rename"];

/** `tether exec ...`: run, reattach, list, show and signal execs. */
export async function execCommand(args: string[], paths: ClientPaths): Promise<number> {
  switch (args[0]) {
    case "attach":
      return attachExec(args.slice(1), paths);
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
    case "start":
      return startNow(args.slice(1), paths);
    case "wait":
      return waitExecs(args.slice(1), paths);
    case "stop":
      return stop(args.slice(1), paths);
    case "pause":
    case "resume":
      return pauseExecs(args.slice(1), paths, args[0] === "resume");
    case "queue":
      return execQueues(args.slice(1), paths);
    case "rename":
      return rename(args.slice(1), paths);
    default:
      return run(args, paths).catch((error: unknown) => {
        throw subcommandMeant(error, "tether exec", SUBCOMMANDS);
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

/** The options of `tether exec WS ... -- CMD`: the command starts at the first word after WS that is neither one nor the value of one. */
const RUN_OPTIONS = {
  detach: { type: "boolean", short: "d", default: false },
  interactive: { type: "boolean", short: "i", default: false },
  tty: { type: "boolean", short: "t", default: false },
  rm: { type: "boolean", default: false },
  cwd: { type: "string", default: "" },
  ...ENV_FLAGS,
  "max-output": { type: "string" },
  name: { type: "string", default: "" },
  restart: { type: "string", default: "no" },
  label: { type: "string", short: "l", multiple: true, default: [] as string[] },
  timeout: { type: "string" },
  queue: { type: "string", default: "" },
  after: { type: "string", multiple: true, default: [] as string[] },
  delay: { type: "string" },
  at: { type: "string" },
  "attach-existing": { type: "boolean", short: "A", default: false },
  ...READINESS_FLAGS,
  priority: { type: "string" },
} satisfies NonNullable<ParseArgsConfig["options"]>;

async function run(args: string[], paths: ClientPaths): Promise<number> {
  const { options, command } = splitCommand(args, RUN_OPTIONS);
  const { values, positionals } = parseCommandLine({ args: options, allowPositionals: true, options: RUN_OPTIONS });
  if (positionals.length !== 1 || command.length === 0) throw usageErrorMeant(EXEC_USAGE, "tether exec", positionals[0], SUBCOMMANDS, "tether exec WS");
  if (values["attach-existing"] && values.name === "") throw new CliError("-A goes on with the running exec of the name given, as pty -A does: give it --name NAME", 2);
  // -A: the running exec of that name when there is one, not a second start (a script's "make sure it runs").
  const existing = values["attach-existing"] ? await runningNamed((await connectToDaemon(paths)).client, values.name) : undefined;
  if (existing !== undefined) {
    if (!values.detach) return attachExec([existing], paths);
    process.stdout.write(`${existing}\n`);
    return 0;
  }
  const restartPolicy = parseRestartFlag(values.restart);
  const startAt = parseStartAtFlag(values.delay, values.at);
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
        env: { ...(values.tty ? { TERM: process.env["TERM"] ?? "xterm-256color", ...terminalEnv(process.env, terminal) } : {}), ...envFromFlags(values) },
        tty: values.tty,
        size: terminal ? { cols: process.stdout.columns, rows: process.stdout.rows } : undefined,
        outputMaxBytes: BigInt(outputMaxBytes),
        displayName: values.name,
        restartPolicy,
        labels: parsePairs("--label", values.label),
        timeout: values.timeout === undefined ? undefined : parseDurationFlag("--timeout", values.timeout),
        queue: values.queue,
        after: afterRefs(values.after),
        startAt: startAt === undefined ? undefined : timestampFromMs(startAt),
        readiness: readinessFromFlags(values),
        priority: values.priority === undefined ? 0 : integerFlag("--priority", values.priority),
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
  // Raw once the command runs: while it waits in a queue, Ctrl-C is this CLI's (it detaches), not a key for it.
  let local: ReturnType<typeof rawTerminal> | undefined;
  // Ctrl-C (outside raw mode) goes to the command, not to this CLI; pressed again and again, it detaches.
  const interrupts: number[] = [];
  // While it waits in its queue there is no process for Ctrl-C: it detaches, the exec stays queued.
  let queued = false;
  const onSigint = (): void => {
    if (queued) return stop.abort();
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
        queued = kind.value.exec!.status === ExecStatus.QUEUED;
        if (!queued && terminal && !values.detach && local === undefined) local = rawTerminal((size) => merged.push({ kind: { case: "resize", value: size } }));
        if (queued && !values.detach) {
          const inTurn = kind.value.exec!.queue === "" ? "it starts then" : "it starts in its turn (tether exec queue)";
          process.stderr.write(`tether: exec ${id} is queued${queuedWords(kind.value.exec!)}: ${inTurn}; Ctrl-C leaves it queued\n`);
        }
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
    if (stop.signal.aborted && queued) {
      process.stderr.write(`\ntether: exec ${id} stays queued. Follow it: tether exec attach ${id}   take it out: tether exec stop ${id}\n`);
      return 130;
    }
    if (stop.signal.aborted && id !== "") {
      const kept = values.rm ? ", and stays once it ends (--rm removes only what this command saw end)" : "";
      process.stderr.write(`\ntether: exec ${id} goes on (Ctrl-C ${DETACH_INTERRUPTS} times detaches)${kept}. Reattach: tether exec attach ${id} --tail 0   stop it: tether exec kill ${id} --signal KILL\n`);
      return 130;
    }
    // Under a terminal the error goes after the line the command's output left the cursor on.
    if (local !== undefined) process.stderr.write("\r\n");
    const what = queued ? `exec ${id} stays queued: the next daemon (any tether command starts it) runs it in its turn` : `exec ${id} ran, which ended with it (recorded lost); what it printed stays readable: tether exec attach ${id}`;
    throw whenDaemonStopped(error, id && what);
  } finally {
    local?.restore();
    process.off("SIGINT", onSigint);
    merged.end();
    if (readsStdin) process.stdin.destroy();
  }
}

/** The id of the running (or queued) exec named `name`, if one is. */
async function runningNamed(client: GrpcClient, name: string): Promise<string | undefined> {
  try {
    const { exec } = await client.unary(ExecService.method.getExec, { exec: name });
    const live = exec!.status === ExecStatus.RUNNING || exec!.status === ExecStatus.QUEUED;
    return live && exec!.displayName === name ? exec!.id : undefined;
  } catch (error) {
    if (error instanceof RpcError && error.detail?.reason === ErrorReason.EXEC_NOT_FOUND) return undefined;
    throw error;
  }
}

/** `--restart no | on-failure[:N] | always`, as docker run --restart takes it. */
function parseRestartFlag(value: string): MessageInitShape<typeof RestartPolicySchema> | undefined {
  const match = /^(no|always|unless-stopped|on-failure)(?::(\d+))?$/.exec(value);
  if (match === null || (match[2] !== undefined && match[1] !== "on-failure")) {
    throw new CliError(`--restart takes no, on-failure, on-failure:N (at most N restarts), always or unless-stopped, as docker run --restart, got ${JSON.stringify(value)}`, 2);
  }
  if (match[1] === "no") return undefined;
  // docker's unless-stopped is always here: an exec a client stopped is not started again by either, nor at the daemon's start.
  return { mode: match[1] === "on-failure" ? RestartMode.ON_FAILURE : RestartMode.ALWAYS, maxRestarts: Number(match[2] ?? 0) };
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

async function kill(args: string[], paths: ClientPaths): Promise<number> {
  const { values, positionals } = parseCommandLine({
    args,
    allowPositionals: true,
    options: { signal: { type: "string", short: "s", default: "SIGTERM" }, label: { type: "string", short: "l", multiple: true, default: [] }, queue: { type: "string" } },
  });
  const selector = execSelector(values);
  if (positionals.length !== (selects(selector) ? 0 : 1)) throw usageError(EXEC_USAGE, "tether exec kill");
  const { client } = await connectToDaemon(paths);
  for (const ref of await namedOrSelected(client, positionals, selector)) {
    const { exec } = await client.unary(ExecService.method.signalExec, { exec: ref, signal: values.signal });
    process.stdout.write(`sent ${values.signal} to ${exec!.id}\n`);
  }
  return 0;
}

async function stop(args: string[], paths: ClientPaths): Promise<number> {
  const { values, positionals } = parseCommandLine({
    args,
    allowPositionals: true,
    options: { grace: { type: "string" }, label: { type: "string", short: "l", multiple: true, default: [] }, queue: { type: "string" } },
  });
  const selector = execSelector(values);
  if (selects(selector) ? positionals.length > 0 : positionals.length === 0) throw usageError(EXEC_USAGE, "tether exec stop");
  const grace = values.grace === undefined ? undefined : parseDurationFlag("--grace", values.grace);
  const { client } = await connectToDaemon(paths);
  // All at once, as docker stop stops several: each gets its grace from now.
  await Promise.all(
    (await namedOrSelected(client, positionals, selector)).map(async (ref) => {
      const { exec } = await client.unary(ExecService.method.stopExec, { exec: ref, grace });
      process.stdout.write(`${execEndLine(exec!)}\n`);
    }),
  );
  return 0;
}

/** `tether exec start E...`: each queued one now, as pueue start starts a queued task. */
async function startNow(args: string[], paths: ClientPaths): Promise<number> {
  const { positionals } = parseCommandLine({ args, allowPositionals: true, options: {} });
  if (positionals.length === 0) throw usageError(EXEC_USAGE, "tether exec start");
  const { client } = await connectToDaemon(paths);
  let code = 0;
  for (const ref of positionals) {
    const { exec } = await client.unary(ExecService.method.startExec, { exec: ref });
    if (exec!.status === ExecStatus.FAILED_TO_START) {
      process.stderr.write(`tether: exec ${exec!.id} could not start: ${exec!.error}\n`);
      code = exec!.exitCode;
    } else {
      process.stdout.write(`started ${exec!.id} (pid ${exec!.pid})\n`);
    }
  }
  return code;
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

/** `tether exec rename E NAME` (docker rename). */
async function rename(args: string[], paths: ClientPaths): Promise<number> {
  const { positionals } = parseCommandLine({ args, allowPositionals: true, options: {} });
  if (positionals.length !== 2) throw usageError(EXEC_USAGE, "tether exec rename");
  const { client } = await connectToDaemon(paths);
  const { exec } = await client.unary(ExecService.method.renameExec, { exec: positionals[0]!, displayName: positionals[1]! });
  process.stdout.write(`${exec!.id} ${exec!.displayName}\n`);
  return 0;
}

async function remove(args: string[], paths: ClientPaths): Promise<number> {
  const { values, positionals } = parseCommandLine({
    args,
    allowPositionals: true,
    options: { ended: { type: "boolean", default: false }, "older-than": { type: "string" }, successful: { type: "boolean", short: "s", default: false } },
  });
  if (values.ended ? positionals.length > 1 : positionals.length === 0 || values["older-than"] !== undefined || values.successful) throw usageError(EXEC_USAGE, "tether exec rm");
  const cutoff = endedBeforeFlag(values["older-than"]);
  const { client } = await connectToDaemon(paths);
  const removeOne = async (ref: string): Promise<{ id: string; outputBytes: bigint }> => {
    const { exec, outputBytes } = await client.unary(ExecService.method.deleteExec, { exec: ref });
    return { id: exec!.id, outputBytes };
  };
  if (!values.ended) return removeEach(positionals, removeOne);
  // --successful: those that exited 0 alone, as pueue clean --successful-only keeps the failures to look into.
  const gone = (e: Exec): boolean => (values.successful ? e.status === ExecStatus.EXITED && e.exitCode === 0 : e.status !== ExecStatus.RUNNING && e.status !== ExecStatus.QUEUED);
  const ended = (await allExecs(client, positionals[0] ?? "", false)).filter((e) => gone(e) && endedBy(e.endTime, cutoff));
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
