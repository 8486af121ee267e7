import type { MessageInitShape } from "@bufbuild/protobuf";
import { ErrorReason } from "../../gen/tether/v1/errors_pb.js";
import { ExecStatus, type ExecExit } from "../../gen/tether/v1/exec_pb.js";
import { PtyState, SizePolicy } from "../../gen/tether/v1/pty_pb.js";
import { PtyService, type AttachPtyRequestSchema, type PtyOpenSchema } from "../../gen/tether/v1/pty_service_pb.js";
import { CliError, subcommandMeant, usageError, whenDaemonStopped } from "../cli-error.js";
import { parseCommandLine, splitCommand } from "../command-line.js";
import { enumName } from "../enum-names.js";
import { inputOf, sendInPieces } from "../input-pieces.js";
import { terminalEnv } from "../terminal-env.js";
import { ENV_FLAGS, envFromFlags, parseDurationFlag, parsePairs, wholeNumberFlag } from "../flags.js";
import { defaultShell } from "../../common/default-shell.js";
import { formatMs } from "../../common/format.js";
import { untilFlag, type OutputUntil } from "../output-until.js";
import { type ClientPaths, workspaceArg } from "../paths.js";
import { ReplayFilter } from "../replay-filter.js";
import { RequestMerge } from "../request-merge.js";
import { programModes, rawTerminal, terminalSize } from "../terminal.js";
import { RpcError, type GrpcClient } from "../grpc-client.js";
import { removeAll, removeEach } from "../remove-each.js";
import { captureScreen } from "../screen-capture.js";
import { connectToDaemon } from "../transport.js";
import { writeChunk } from "../write-chunk.js";
import { allPtys, howClosed, listPtys } from "./pty-list.js";

export const PTY_USAGE = `  tether pty WS [-d] [--name NAME [-A]] [--label k=v ...] [--size-policy latest|smallest] [--cwd DIR] [--env K=V|K ...] [--dotenv F ...] [[--] CMD ...]
                                              open a terminal in a workspace (your $SHELL by default) and attach;
                                              --name: a name to attach it by too, as tmux new -s (unique among open PTYs),
                                              -A: attach to the open one of that name if there is one (tmux new -A);
                                              the detach key (Ctrl-\\, --detach-key or $TETHER_DETACH_KEY; none: no key) leaves it running;
                                              -d opens it without attaching and prints its id; --label: labels to find it by
  tether pty attach P [--read-only] [--from OFFSET] [--detach-key K]
                                              reattach: the recent output is replayed to redraw, then live
  tether pty ls [WS] [--all] [--label k=v|k ...] [--json]
                                              open PTYs (--all: closed ones too): command, size, clients
  tether pty read P [--from OFFSET] [--no-follow] [--until PATTERN] [--idle 500ms]
                                              a PTY's output to stdout without attaching: the replay (or from
                                              OFFSET), then live until it closes; --no-follow: what is stored;
                                              --until: up to a line the regular expression matches, as exec attach;
                                              --idle: until the program has written nothing for that long
  tether pty send P TEXT... [--enter] [--until PATTERN] [--idle 500ms]
                                              type into a PTY as keys would: the words joined by spaces,
                                              --enter (or --line, as exec send) adds Enter; - types what stdin holds;
                                              --until: then print what the program writes after it, up to a line
                                              the regular expression matches (as expect waits for it); --idle: up to
                                              a pause that long in its output (a command done, its prompt back)
  tether pty send P -k KEY... [--until PATTERN] [--idle 500ms]
                                              type keys by name as tmux send-keys does: each word a key (Enter,
                                              C-c, Up, Escape, F1, M-x, ...) or, when it names none, its text
  tether pty capture P [-S N] [--json] [--no-redraw]
                                              the screen as it is now, as text (tmux capture-pane -p): each row,
                                              trailing blanks trimmed; -S/--scrollback N: the N rows above it
                                              first; --json adds the cursor and the screen in use; a full-screen
                                              program is asked to redraw first (--no-redraw: not)
  tether pty resize P COLSxROWS               set a PTY's size (until an attached client's activity applies the
                                              size policy again)
  tether pty rename P NAME                    name an open PTY anew, as tmux rename-session (attach, send ... by it)
  tether pty kill P [--signal S]              close a PTY (SIGHUP, then SIGKILL), or send it a signal
  tether pty kill --label k=v|k ... [--signal S]
                                              close (or signal) every open PTY with those labels
  tether pty rm P... | pty rm --closed [WS]   remove closed PTYs (all, or a workspace's) with the output they kept
                                              (--ended too, as rm and exec rm take it)`;

type Request = MessageInitShape<typeof AttachPtyRequestSchema>;
type Target = NonNullable<MessageInitShape<typeof PtyOpenSchema>["target"]>;

const DEFAULT_DETACH_KEY = "ctrl-\\";

/** `tether pty ...`: open, attach, list and close terminals. */
export async function ptyCommand(args: string[], paths: ClientPaths): Promise<number> {
  switch (args[0]) {
    case "attach":
      return attach(args.slice(1), paths);
    case "ls":
      return listPtys(args.slice(1), paths);
    case "read":
      return read(args.slice(1), paths);
    case "capture":
      return capture(args.slice(1), paths);
    case "send":
      return send(args.slice(1), paths);
    case "resize":
      return resize(args.slice(1), paths);
    case "rename":
      return rename(args.slice(1), paths);
    case "kill":
      return kill(args.slice(1), paths);
    case "rm":
      return remove(args.slice(1), paths);
    default:
      return open(args, paths).catch((error: unknown) => {
        throw subcommandMeant(error, "tether pty", ["attach", "ls", "read", "capture", "send", "resize", "rename", "kill", "rm"]);
      });
  }
}

/** Options that take a value: the command starts at the first other word after WS. */
const VALUE_OPTIONS = new Set(["--size-policy", "--cwd", "--env", "-e", "--dotenv", "--detach-key", "--name", "--label", "-l"]);

async function open(args: string[], paths: ClientPaths): Promise<number> {
  const { options, command } = splitCommand(args, VALUE_OPTIONS);
  const { values, positionals } = parseCommandLine({
    args: options,
    allowPositionals: true,
    options: {
      "size-policy": { type: "string", default: "latest" },
      cwd: { type: "string", default: "" },
      ...ENV_FLAGS,
      "detach-key": { type: "string" },
      detach: { type: "boolean", short: "d", default: false },
      name: { type: "string", default: "" },
      "attach-existing": { type: "boolean", short: "A", default: false },
      label: { type: "string", short: "l", multiple: true, default: [] },
    },
  });
  if (positionals.length !== 1) throw usageError(PTY_USAGE, "tether pty WS");
  if (values["attach-existing"] && values.name === "") throw new CliError("-A attaches to the open PTY of the name given, as tmux new -A -s NAME does: give it --name NAME", 2);
  const sizePolicy = { latest: SizePolicy.LATEST, smallest: SizePolicy.SMALLEST }[values["size-policy"]];
  if (sizePolicy === undefined) throw new CliError(`--size-policy takes latest or smallest, got ${JSON.stringify(values["size-policy"])}`, 2);
  const argv = command.length === 0 ? [defaultShell(process.env)] : command;
  const env = { ...terminalEnv(process.env, !values.detach && process.stdout.isTTY === true), ...envFromFlags(values) };
  const spec = { workspace: workspaceArg(positionals[0]!), argv, cwd: values.cwd, env, sizePolicy, displayName: values.name, labels: parsePairs("--label", values.label) };
  // -A: the open PTY of that name when there is one (tmux new -A); with -d, its id (a script's "make sure it runs").
  const existing = values["attach-existing"] ? await openNamed(paths, values.name) : undefined;
  if (existing !== undefined) {
    if (values.detach) process.stdout.write(`${existing}\n`);
    return values.detach ? 0 : session(paths, { case: "pty", value: existing }, false, undefined, detachKey(values["detach-key"]));
  }
  if (values.detach) {
    // As tmux new -d: opened at this terminal's size (else 80x24), nobody attached; the id to attach or type to.
    const size = terminalSize();
    const { client } = await connectToDaemon(paths);
    const { pty } = await client.unary(PtyService.method.createPty, { spec: { ...spec, size } });
    process.stdout.write(`${pty!.id}\n`);
    return 0;
  }
  const target: Target = { case: "create", value: spec };
  return session(paths, target, false, undefined, detachKey(values["detach-key"]), true);
}

/** The id of the open PTY named `name`, if one is. */
async function openNamed(paths: ClientPaths, name: string): Promise<string | undefined> {
  const { client } = await connectToDaemon(paths);
  try {
    const { pty } = await client.unary(PtyService.method.getPty, { pty: name });
    return pty!.state === PtyState.OPEN && pty!.displayName === name ? pty!.id : undefined;
  } catch (error) {
    if (error instanceof RpcError && error.detail?.reason === ErrorReason.PTY_NOT_FOUND) return undefined;
    throw error;
  }
}

async function attach(args: string[], paths: ClientPaths): Promise<number> {
  const { values, positionals } = parseCommandLine({
    args,
    allowPositionals: true,
    options: { "read-only": { type: "boolean", default: false }, from: { type: "string" }, "detach-key": { type: "string" } },
  });
  if (positionals.length !== 1) throw usageError(PTY_USAGE, "tether pty attach");
  const from = values.from === undefined ? undefined : wholeNumberFlag("--from", values.from, "a byte offset");
  return session(paths, { case: "pty", value: positionals[0]! }, values["read-only"], from, detachKey(values["detach-key"]));
}

/**
 * One attached client: this terminal in raw mode and in the program's
 * terminal modes (PtyOpened.terminal_modes, then the output), keys to the PTY (the
 * detach key, typed on its own, detaches instead; inside a paste it is sent
 * on), output to stdout, size changes to the PTY. Exits with the program's
 * exit code when it ends, 0 on detach. Where stdin is not a terminal, its
 * bytes are typed; at its end, a terminal this command opened is sent the
 * end-of-file key (Ctrl-D) once its program waits for more input (the
 * daemon's end_of_input), as util-linux `script` and `tether exec -t` do,
 * so `echo make | tether pty ws` ends when the shell does; a client attached
 * to a terminal that was there before only stops typing (its program is
 * others' too) and stays until the program ends or it is interrupted.
 */
async function session(paths: ClientPaths, target: Target, readOnly: boolean, fromOffset: number | undefined, detachByte: number, opened = false): Promise<number> {
  const { client } = await connectToDaemon(paths);
  const keys = readOnly ? undefined : keystrokes(detachByte, opened && process.stdin.isTTY !== true);
  let detached = false;
  const merged = new RequestMerge<Request>(keys?.requests, () => undefined);
  const local = rawTerminal((size) => merged.push({ kind: { case: "resize", value: size } }));
  keys?.onDetach(() => {
    detached = true;
    merged.push({ kind: { case: "detach", value: true } });
  });
  const watchOnly = readOnly ? watchDetachKey(detachByte, () => {
    detached = true;
    merged.push({ kind: { case: "detach", value: true } });
  }) : undefined;
  async function* requests(): AsyncGenerator<Request> {
    yield { kind: { case: "open", value: { target, size: local.size, readOnly, fromOffset: fromOffset === undefined ? undefined : BigInt(fromOffset) } } };
    yield* merged;
  }
  let id = "";
  // How the hints name it: by its name when it has one (tmux attach -t NAME).
  let ref = "";
  let exit: ExecExit | undefined;
  // Only a terminal answers queries: a pipe or file gets the bytes as they were.
  let replay: ReplayFilter | undefined;
  try {
    for await (const response of client.bidiStream(PtyService.method.attachPty, requests(), { dataParts: true })) {
      const kind = response.kind;
      if (kind.case === "opened") {
        id = kind.value.pty!.id;
        ref = kind.value.pty!.displayName || id;
        if (process.stdout.isTTY === true) replay = new ReplayFilter(Number(kind.value.liveOffset));
        if (kind.value.terminalModes.byteLength > 0) await writeChunk(process.stdout, { data: kind.value.terminalModes }, local.seen);
      } else if (kind.case === "output") await writeChunk(process.stdout, replay?.chunk(kind.value) ?? kind.value, local.seen);
      else if (kind.case === "exit") exit = kind.value;
    }
  } catch (error) {
    // The error is printed after this line of the program's output, not in the middle of it.
    process.stderr.write("\r\n");
    throw whenDaemonStopped(error, id && `this command was attached to pty ${id}, which ended with it (recorded lost: a PTY does not outlive its daemon); what it printed stays readable: tether pty read ${id} --no-follow`);
  } finally {
    local.restore();
    watchOnly?.();
    merged.end();
    process.stdin.destroy();
  }
  if (exit !== undefined) {
    if (exit.status === ExecStatus.LOST || exit.status === ExecStatus.FAILED_TO_START) process.stderr.write(`\r\ntether: pty ${id}: ${enumName(ExecStatus, exit.status)}: ${exit.error}\r\n`);
    else if (exit.error !== "") process.stderr.write(`\r\ntether: pty ${id}: ${exit.error}\r\n`);
    return exitCodeOf(exit);
  }
  if (detached) {
    process.stderr.write(`\r\n[detached from pty ${ref}: it keeps running. Come back: tether pty attach ${ref}   close it: tether pty kill ${ref}]\r\n`);
    return 0;
  }
  process.stderr.write(`\r\n[pty ${ref}: the daemon ended the attach; tether pty attach ${ref} reattaches]\r\n`);
  return 1;
}

/** stdin as input requests, with the detach key typed on its own turned into a detach; with `eofKey`, Ctrl-D at stdin's end. */
function keystrokes(detachByte: number, eofKey: boolean): { requests: AsyncIterator<Request>; onDetach(handler: () => void): void } {
  let onDetach = (): void => undefined;
  async function* requests(): AsyncGenerator<Request> {
    for await (const chunk of process.stdin) {
      const data = chunk as Buffer;
      if (data.length === 1 && data[0] === detachByte) {
        onDetach();
        return;
      }
      yield { kind: { case: "input", value: data } };
    }
    if (eofKey) yield { kind: { case: "endOfInput", value: true } };
  }
  return { requests: requests(), onDetach: (handler) => (onDetach = handler) };
}

/** For a read-only client: stdin is only watched for the detach key. */
function watchDetachKey(detachByte: number, onDetach: () => void): () => void {
  const listener = (data: Buffer): void => {
    if (data.includes(detachByte)) onDetach();
  };
  process.stdin.on("data", listener);
  return () => process.stdin.off("data", listener);
}

/** "ctrl-\\", "ctrl-]", "^]" or "^A": the byte a control key sends; "none", as ssh's `-e none`: no byte (NO_DETACH_KEY), every key is the program's. */
function detachKey(flag: string | undefined): number {
  const fromEnv = flag === undefined && process.env["TETHER_DETACH_KEY"] !== undefined;
  const spec = (flag ?? process.env["TETHER_DETACH_KEY"] ?? DEFAULT_DETACH_KEY).toLowerCase();
  if (spec === "none") return NO_DETACH_KEY;
  const match = /^(?:ctrl-|\^)(.)$/.exec(spec);
  const code = match?.[1]?.toUpperCase().charCodeAt(0);
  if (code === undefined || code < 0x40 || code > 0x5f) {
    throw new CliError(`${fromEnv ? "TETHER_DETACH_KEY" : "--detach-key"} takes a control key such as ctrl-\\\\, ctrl-] or ^A, or none (got ${JSON.stringify(spec)})`, 2);
  }
  return code & 0x1f;
}

/** No byte is it: with --detach-key none, closing the terminal detaches. */
const NO_DETACH_KEY = -1;

/**
 * A PTY's output to stdout, as a watcher that is not attached (ReadPty):
 * bytes as the program wrote them into a pipe or file; on a terminal, its
 * modes first, none of the program's queries (as exec attach shows a
 * terminal exec), and the modes undone at the end. Exits with the
 * program's code once it has ended, 0 while it runs on.
 */
async function read(args: string[], paths: ClientPaths): Promise<number> {
  const { values, positionals } = parseCommandLine({
    args,
    allowPositionals: true,
    options: { from: { type: "string" }, "no-follow": { type: "boolean", default: false }, until: { type: "string" }, idle: { type: "string" } },
  });
  if (positionals.length !== 1) throw usageError(PTY_USAGE, "tether pty read");
  const ends = { until: untilFlag(values.until), idleMs: idleFlag(values.idle) };
  const from = values.from === undefined ? undefined : wholeNumberFlag("--from", values.from, "a byte offset");
  const { client } = await connectToDaemon(paths);
  return followPty(client, { pty: positionals[0]!, fromOffset: from === undefined ? undefined : BigInt(from), noFollow: values["no-follow"] }, ends);
}

/** What ends a follow of a PTY's output before the PTY closes: a line that matches, a pause in its output. */
interface FollowEnds {
  readonly until: OutputUntil | undefined;
  readonly idleMs: number | undefined;
}

/** The `--idle` flag's duration in milliseconds, or undefined without it. */
function idleFlag(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const { seconds, nanos } = parseDurationFlag("--idle", value);
  return Number(seconds) * 1000 + nanos / 1e6;
}

/**
 * A PTY's output to stdout (ReadPty) from `request`'s offset (else the
 * replay), with its modes on a terminal and none of its queries, to its end,
 * or with `until` to a line that matches, or with `idleMs` to a pause that
 * long in its output (from the start when none comes): its exit code, 0 on
 * a match, a pause, or while it runs on; with both, a pause before the line
 * is `until`'s failure.
 */
async function followPty(client: GrpcClient, request: { pty: string; fromOffset: bigint | undefined; noFollow: boolean }, ends: FollowEnds): Promise<number> {
  const { until, idleMs } = ends;
  const stop = new AbortController();
  const interrupted = (): void => stop.abort();
  process.once("SIGINT", interrupted);
  // A pause: the timer runs again from each output, and ends the read as a match does.
  let idle = false;
  const pause = idleMs === undefined ? undefined : setTimeout(() => ((idle = true), stop.abort()), idleMs);
  const modes = programModes();
  const queries = process.stdout.isTTY === true ? new ReplayFilter(Infinity) : undefined;
  let exit: ExecExit | undefined;
  let matched = false;
  try {
    for await (const response of client.serverStream(PtyService.method.readPty, request, { signal: stop.signal, dataParts: true })) {
      const kind = response.kind;
      if (kind.case === "opened" && queries !== undefined) {
        process.stdout.write(kind.value.terminalModes);
        modes.seen(Buffer.from(kind.value.terminalModes));
      } else if (kind.case === "output") {
        pause?.refresh();
        // Read before the write takes the chunk's pieces.
        matched = until?.seen(0, kind.value.data) === true;
        await writeChunk(process.stdout, queries?.chunk(kind.value) ?? kind.value, modes.seen);
        if (matched) break;
      } else if (kind.case === "exit") exit = kind.value;
    }
  } catch (error) {
    if (!stop.signal.aborted) throw error;
  } finally {
    clearTimeout(pause);
    process.off("SIGINT", interrupted);
    modes.leave();
  }
  // With --until too, a pause is its time to give up: the line never came.
  if (idle && until !== undefined) throw until.notSeen(`pty ${request.pty}'s output paused for ${formatMs(idleMs!)}`);
  if (idle) return 0;
  if (stop.signal.aborted) return 130;
  if (until !== undefined && !matched) throw until.notSeen(exit === undefined ? `pty ${request.pty}'s output so far ends` : `pty ${request.pty} closed`);
  return matched || exit === undefined ? 0 : exitCodeOf(exit);
}

/** `tether pty capture P`: the screen as it is now, as text (tmux capture-pane -p); see screen-capture.ts. */
async function capture(args: string[], paths: ClientPaths): Promise<number> {
  const { values, positionals } = parseCommandLine({
    args,
    allowPositionals: true,
    options: { json: { type: "boolean", default: false }, "no-redraw": { type: "boolean", default: false }, scrollback: { type: "string", short: "S", default: "0" } },
  });
  if (positionals.length !== 1) throw usageError(PTY_USAGE, "tether pty capture");
  const scrollback = wholeNumberFlag("--scrollback", values.scrollback, "a number of lines");
  const { client } = await connectToDaemon(paths);
  const { id, screen } = await captureScreen(client, positionals[0]!, { scrollback, redraw: !values["no-redraw"] });
  const { cols, rows, lines, cursor, alternateScreen } = screen;
  if (values.json) process.stdout.write(`${JSON.stringify({ pty: id, cols, rows, lines, scrollback: screen.scrollback, cursor, alternate_screen: alternateScreen })}\n`);
  else process.stdout.write([...screen.scrollback, ...lines].map((line) => `${line}\n`).join(""));
  return 0;
}

/** The program's exit code as the CLI exits with it: 1 when the daemon lost it (its end is unknown). */
function exitCodeOf(exit: ExecExit): number {
  return exit.status === ExecStatus.LOST ? 1 : exit.exitCode;
}

async function send(args: string[], paths: ClientPaths): Promise<number> {
  const { values: given, positionals } = parseCommandLine({
    args,
    allowPositionals: true,
    options: { enter: { type: "boolean", default: false }, line: { type: "boolean", default: false }, keys: { type: "boolean", short: "k", default: false }, until: { type: "string" }, idle: { type: "string" } },
  });
  const ends = { until: untilFlag(given.until), idleMs: idleFlag(given.idle) };
  const follows = ends.until !== undefined || ends.idleMs !== undefined;
  // --line as `tether send` and `exec send` take it: a line typed is ended by Enter.
  const values = { ...given, enter: given.enter || given.line };
  if (positionals.length < 2 && !(positionals.length === 1 && values.enter)) throw usageError(PTY_USAGE, "tether pty send");
  const [ref, ...words] = positionals as [string, ...string[]];
  if (values.keys && words.includes("-")) throw new CliError("-k types the words as keys; - (stdin) goes without -k", 2);
  // Enter is what the key sends: a carriage return.
  const data = values.keys ? undefined : await inputOf(words, values.enter ? "\r" : "");
  if (data?.byteLength === 0) throw new CliError("nothing to type: give TEXT, or - with bytes on stdin", 2);
  const { client } = await connectToDaemon(paths);
  // --until, --idle: what the program writes from here on, up to a line that matches (expect's send, then expect) or a pause.
  const before = !follows ? undefined : (await client.unary(PtyService.method.getPty, { pty: ref })).pty!;
  // Each word a key name or text, as tmux send-keys takes them; the daemon knows the form the program wants.
  if (data === undefined) await client.unary(PtyService.method.writePty, { pty: ref, keys: values.enter ? [...words, "Enter"] : words });
  else await sendInPieces(data, (piece) => client.unary(PtyService.method.writePty, { pty: ref, data: piece }));
  return before === undefined ? 0 : followPty(client, { pty: before.id, fromOffset: before.outputBytes, noFollow: false }, ends);
}

async function resize(args: string[], paths: ClientPaths): Promise<number> {
  const { positionals } = parseCommandLine({ args, allowPositionals: true, options: {} });
  const size = /^(\d+)x(\d+)$/.exec(positionals[1] ?? "");
  if (positionals.length !== 2 || size === null) throw usageError(PTY_USAGE, "tether pty resize");
  const { client } = await connectToDaemon(paths);
  const { pty } = await client.unary(PtyService.method.resizePty, { pty: positionals[0]!, size: { cols: Number(size[1]), rows: Number(size[2]) } });
  process.stdout.write(`${pty!.id} ${pty!.size?.cols ?? 0}x${pty!.size?.rows ?? 0}\n`);
  return 0;
}

async function rename(args: string[], paths: ClientPaths): Promise<number> {
  const { positionals } = parseCommandLine({ args, allowPositionals: true, options: {} });
  if (positionals.length !== 2) throw usageError(PTY_USAGE, "tether pty rename");
  const { client } = await connectToDaemon(paths);
  const { pty } = await client.unary(PtyService.method.renamePty, { pty: positionals[0]!, displayName: positionals[1]! });
  process.stdout.write(`${pty!.id} ${pty!.displayName}\n`);
  return 0;
}

async function kill(args: string[], paths: ClientPaths): Promise<number> {
  const { values, positionals } = parseCommandLine({
    args,
    allowPositionals: true,
    options: { signal: { type: "string", short: "s" }, label: { type: "string", short: "l", multiple: true, default: [] } },
  });
  if (positionals.length !== (values.label.length > 0 ? 0 : 1)) throw usageError(PTY_USAGE, "tether pty kill");
  const { client } = await connectToDaemon(paths);
  // Every open one with those labels (an agent's terminals), as exec kill --label.
  const refs = values.label.length > 0 ? (await allPtys(client, "", true, values.label)).map((p) => p.id) : positionals;
  if (refs.length === 0) process.stderr.write(`no open PTY has the labels ${values.label.join(", ")}\n`);
  for (const ref of refs) {
    if (values.signal !== undefined) {
      const { pty } = await client.unary(PtyService.method.signalPty, { pty: ref, signal: values.signal });
      process.stdout.write(`sent ${values.signal} to ${pty!.id}\n`);
    } else {
      const { pty } = await client.unary(PtyService.method.closePty, { pty: ref });
      process.stdout.write(`closed ${pty!.id} (${howClosed(pty!.exit)})\n`);
    }
  }
  return 0;
}

async function remove(args: string[], paths: ClientPaths): Promise<number> {
  const { values: given, positionals } = parseCommandLine({ args, allowPositionals: true, options: { closed: { type: "boolean", default: false }, ended: { type: "boolean", default: false } } });
  // --ended as `rm` and `exec rm` take it: a PTY that ended is closed.
  const values = { closed: given.closed || given.ended };
  if (values.closed ? positionals.length > 1 : positionals.length === 0) throw usageError(PTY_USAGE, "tether pty rm");
  const { client } = await connectToDaemon(paths);
  const removeOne = async (ref: string): Promise<{ id: string; outputBytes: bigint }> => {
    const { pty, outputBytes } = await client.unary(PtyService.method.deletePty, { pty: ref });
    return { id: pty!.id, outputBytes };
  };
  if (!values.closed) return removeEach(positionals, removeOne);
  const closed = (await allPtys(client, positionals[0] ?? "", false)).filter((p) => p.state !== PtyState.OPEN);
  return removeAll(closed.map((p) => p.id), removeOne, "closed PTY(s)");
}

