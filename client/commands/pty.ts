import type { ParseArgsConfig } from "node:util";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { ErrorReason } from "../../gen/tether/v1/errors_pb.js";
import { ExecStatus, type ExecExit } from "../../gen/tether/v1/exec_pb.js";
import { PtyState, SizePolicy } from "../../gen/tether/v1/pty_pb.js";
import { PtyService, type AttachPtyRequestSchema, type PtyOpenSchema } from "../../gen/tether/v1/pty_service_pb.js";
import { CliError, subcommandMeant, usageError, whenDaemonStopped } from "../cli-error.js";
import { parseCommandLine, splitCommand } from "../command-line.js";
import { enumName } from "../enum-names.js";
import { terminalEnv } from "../terminal-env.js";
import { ENV_FLAGS, endedBeforeFlag, envFromFlags, parsePairs, wholeNumberFlag } from "../flags.js";
import { defaultShell } from "../../common/default-shell.js";
import { type ClientPaths, workspaceArg } from "../paths.js";
import { ReplayFilter } from "../replay-filter.js";
import { RequestMerge } from "../request-merge.js";
import { rawTerminal, terminalSize } from "../terminal.js";
import { RpcError } from "../grpc-client.js";
import { endedBy, removeAll, removeEach } from "../remove-each.js";
import { captureScreen } from "../screen-capture.js";
import { connectToDaemon } from "../transport.js";
import { writeChunk } from "../write-chunk.js";
import { allPtys, howClosed, lastUsedPty, listPtys, showPty } from "./pty-list.js";
import { labelledOr } from "../labelled-refs.js";
import { exitCodeOf, readPty, sendToPty } from "./pty-io.js";

export const PTY_USAGE = `  tether pty WS [-d [--size 200x50]] [--name NAME [-A [-D]]] [--label k=v ...] [--size-policy latest|smallest] [--cwd DIR] [-E] [--env K=V|K ...] [--dotenv F ...] [[--] CMD ...]
                                              open a terminal in a workspace (your $SHELL by default) and attach;
                                              --name: a name to attach it by too, as tmux new -s (unique among open PTYs),
                                              -A: attach to the open one of that name if there is one (tmux new -A;
                                              -D too: detaching its other clients, tmux new -A -D);
                                              the detach key (Ctrl-\\, --detach-key or $TETHER_DETACH_KEY; none: no key) leaves it running;
                                              -d opens it without attaching and prints its id (--size: at that size, as
                                              tmux new -d -x 200 -y 50; else this terminal's); --label: labels to find it by;
                                              -E/--inherit-env: this shell's environment, as exec -E
  tether pty attach [P] [--read-only] [-d] [--from OFFSET] [--detach-key K]
                                              reattach: the recent output is replayed to redraw, then live;
                                              without P, the open one attached to (or detached from) last, else
                                              the newest, as tmux attach with no target;
                                              -d/--detach-others: every other client attached is detached
                                              (tmux attach -d), so this terminal's size is the PTY's alone
  tether pty detach P                         detach every client attached to it (tmux detach-client -s): each
                                              is told so and exits 0; the program goes on
  tether pty ls [WS] [--all] [--label k=v|k ...] [--json | -q]
                                              open PTYs (--all: closed ones too): command, size, clients;
                                              -q/--quiet: their ids alone
  tether pty show P [--json]                  one PTY: command, cwd, state, size and its policy, clients, output
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
  tether pty rm P... | pty rm --closed [WS] [--older-than 7d]
                                              remove closed PTYs (all, or a workspace's; that closed that long ago)
                                              with the output they kept (--ended too, as rm and exec rm take it)`;

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
    case "show":
      return showPty(args.slice(1), paths);
    case "read":
      return readPty(args.slice(1), paths);
    case "capture":
      return capture(args.slice(1), paths);
    case "send":
      return sendToPty(args.slice(1), paths);
    case "resize":
      return resize(args.slice(1), paths);
    case "rename":
      return rename(args.slice(1), paths);
    case "detach":
      return detach(args.slice(1), paths);
    case "kill":
      return kill(args.slice(1), paths);
    case "rm":
      return remove(args.slice(1), paths);
    default:
      return open(args, paths).catch((error: unknown) => {
        throw subcommandMeant(error, "tether pty", ["attach", "detach", "ls", "show", "read", "capture", "send", "resize", "rename", "kill", "rm"]);
      });
  }
}

/** The options of `tether pty WS ... [--] [CMD]`: the command starts at the first word after WS that is neither one nor the value of one. */
const OPEN_OPTIONS = {
  "size-policy": { type: "string", default: "latest" },
  cwd: { type: "string", default: "" },
  ...ENV_FLAGS,
  "detach-key": { type: "string" },
  detach: { type: "boolean", short: "d", default: false },
  name: { type: "string", default: "" },
  "attach-existing": { type: "boolean", short: "A", default: false },
  "detach-others": { type: "boolean", short: "D", default: false },
  label: { type: "string", short: "l", multiple: true, default: [] as string[] },
  size: { type: "string" },
} satisfies NonNullable<ParseArgsConfig["options"]>;

async function open(args: string[], paths: ClientPaths): Promise<number> {
  const { options, command } = splitCommand(args, OPEN_OPTIONS);
  const { values, positionals } = parseCommandLine({ args: options, allowPositionals: true, options: OPEN_OPTIONS });
  if (positionals.length !== 1) throw usageError(PTY_USAGE, "tether pty WS");
  if (values["attach-existing"] && values.name === "") throw new CliError("-A attaches to the open PTY of the name given, as tmux new -A -s NAME does: give it --name NAME", 2);
  if (values["detach-others"] && !values["attach-existing"]) throw new CliError("-D detaches the other clients of the PTY -A attaches to (tmux new -A -D): give it with -A --name NAME", 2);
  const sizePolicy = { latest: SizePolicy.LATEST, smallest: SizePolicy.SMALLEST }[values["size-policy"]];
  if (sizePolicy === undefined) throw new CliError(`--size-policy takes latest or smallest, got ${JSON.stringify(values["size-policy"])}`, 2);
  if (values.size !== undefined && !values.detach) throw new CliError("--size sets the size of a PTY opened with -d (tmux new -d -x 200 -y 50); an attached one takes this terminal's", 2);
  const argv = command.length === 0 ? [defaultShell(process.env)] : command;
  const env = { ...terminalEnv(process.env, !values.detach && process.stdout.isTTY === true), ...envFromFlags(values) };
  const spec = { workspace: workspaceArg(positionals[0]!), argv, cwd: values.cwd, env, sizePolicy, displayName: values.name, labels: parsePairs("--label", values.label) };
  // -A: the open PTY of that name when there is one (tmux new -A); with -d, its id (a script's "make sure it runs").
  const existing = values["attach-existing"] ? await openNamed(paths, values.name) : undefined;
  if (existing !== undefined) {
    if (values.detach) process.stdout.write(`${existing}\n`);
    return values.detach ? 0 : session(paths, { case: "pty", value: existing }, { detachByte: detachKey(values["detach-key"]), detachOthers: values["detach-others"] });
  }
  if (values.detach) {
    // As tmux new -d: opened at --size, else this terminal's size (else 80x24), nobody attached; the id to attach or type to.
    const size = values.size === undefined ? terminalSize() : terminalSizeArg(values.size);
    if (values.size !== undefined && size === undefined) throw new CliError(`--size is COLSxROWS, as 200x50: got ${JSON.stringify(values.size)}`, 2);
    const { client } = await connectToDaemon(paths);
    const { pty } = await client.unary(PtyService.method.createPty, { spec: { ...spec, size } });
    process.stdout.write(`${pty!.id}\n`);
    return 0;
  }
  const target: Target = { case: "create", value: spec };
  return session(paths, target, { detachByte: detachKey(values["detach-key"]), opened: true });
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
    options: {
      "read-only": { type: "boolean", default: false },
      "detach-others": { type: "boolean", short: "d", default: false },
      from: { type: "string" },
      "detach-key": { type: "string" },
    },
  });
  if (positionals.length > 1) throw usageError(PTY_USAGE, "tether pty attach");
  const from = values.from === undefined ? undefined : wholeNumberFlag("--from", values.from, "a byte offset");
  // No P: the one used last, as tmux attach with no target.
  const ref = positionals[0] ?? (await lastUsedPty((await connectToDaemon(paths)).client))?.id;
  if (ref === undefined) throw new CliError("no PTY is open to attach to: open one with tether pty WS (tether pty ls --all lists the closed ones)", 1);
  return session(paths, { case: "pty", value: ref }, { readOnly: values["read-only"], fromOffset: from, detachByte: detachKey(values["detach-key"]), detachOthers: values["detach-others"] });
}

/** `tether pty detach P`: every client attached to it is detached (tmux detach-client -s). */
async function detach(args: string[], paths: ClientPaths): Promise<number> {
  const { positionals } = parseCommandLine({ args, allowPositionals: true, options: {} });
  if (positionals.length !== 1) throw usageError(PTY_USAGE, "tether pty detach");
  const { client } = await connectToDaemon(paths);
  const { pty, detached } = await client.unary(PtyService.method.detachPty, { pty: positionals[0]! });
  process.stdout.write(`detached ${detached} client(s) from ${pty!.id}\n`);
  return 0;
}

/** How a client attaches (session). */
interface AttachOptions {
  readonly readOnly?: boolean;
  /** Where its output starts; undefined: the replay. */
  readonly fromOffset?: number | undefined;
  /** The byte of the detach key, or NO_DETACH_KEY. */
  readonly detachByte: number;
  /** This command opened the PTY (its stdin's end ends it). */
  readonly opened?: boolean;
  /** Detach the PTY's other clients (tmux attach -d). */
  readonly detachOthers?: boolean;
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
async function session(paths: ClientPaths, target: Target, options: AttachOptions): Promise<number> {
  const { readOnly = false, fromOffset, detachByte, opened = false, detachOthers = false } = options;
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
    yield { kind: { case: "open", value: { target, size: local.size, readOnly, fromOffset: fromOffset === undefined ? undefined : BigInt(fromOffset), detachOthers } } };
    yield* merged;
  }
  let id = "";
  // How the hints name it: by its name when it has one (tmux attach -t NAME).
  let ref = "";
  let exit: ExecExit | undefined;
  // Why another client detached this one (tmux's "[detached (from session x)]").
  let detachedBy: string | undefined;
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
      else if (kind.case === "detached") detachedBy = kind.value.reason;
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
  if (detachedBy !== undefined) {
    process.stderr.write(`\r\n[detached: ${detachedBy}. pty ${ref} keeps running. Come back: tether pty attach ${ref}]\r\n`);
    return 0;
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

async function resize(args: string[], paths: ClientPaths): Promise<number> {
  const { positionals } = parseCommandLine({ args, allowPositionals: true, options: {} });
  const size = terminalSizeArg(positionals[1] ?? "");
  if (positionals.length !== 2 || size === undefined) throw usageError(PTY_USAGE, "tether pty resize");
  const { client } = await connectToDaemon(paths);
  const { pty } = await client.unary(PtyService.method.resizePty, { pty: positionals[0]!, size });
  process.stdout.write(`${pty!.id} ${pty!.size?.cols ?? 0}x${pty!.size?.rows ?? 0}\n`);
  return 0;
}

/** COLSxROWS (200x50) as a size, undefined when it is not one; the daemon says which are too small or too large. */
function terminalSizeArg(text: string): { cols: number; rows: number } | undefined {
  const size = /^(\d{1,6})x(\d{1,6})$/.exec(text);
  return size === null ? undefined : { cols: Number(size[1]), rows: Number(size[2]) };
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
  const refs = await labelledOr(positionals, values.label, "open PTY", async () => (await allPtys(client, "", true, values.label)).map((p) => p.id));
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
  const { values: given, positionals } = parseCommandLine({
    args,
    allowPositionals: true,
    options: { closed: { type: "boolean", default: false }, ended: { type: "boolean", default: false }, "older-than": { type: "string" } },
  });
  // --ended as `rm` and `exec rm` take it: a PTY that ended is closed.
  const values = { closed: given.closed || given.ended };
  if (values.closed ? positionals.length > 1 : positionals.length === 0 || given["older-than"] !== undefined) throw usageError(PTY_USAGE, "tether pty rm");
  const cutoff = endedBeforeFlag(given["older-than"]);
  const { client } = await connectToDaemon(paths);
  const removeOne = async (ref: string): Promise<{ id: string; outputBytes: bigint }> => {
    const { pty, outputBytes } = await client.unary(PtyService.method.deletePty, { pty: ref });
    return { id: pty!.id, outputBytes };
  };
  if (!values.closed) return removeEach(positionals, removeOne);
  const closed = (await allPtys(client, positionals[0] ?? "", false)).filter((p) => p.state !== PtyState.OPEN && endedBy(p.endTime, cutoff));
  return removeAll(closed.map((p) => p.id), removeOne, "closed PTY(s)");
}

