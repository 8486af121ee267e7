import { Code } from "@connectrpc/connect";
import { defaultShell } from "../../common/default-shell.js";
import { TetherError, invalidArgument } from "../errors.js";
import { newId } from "../ids.js";
import type { Journals } from "../journal/journals.js";
import { log } from "../log.js";
import type { ProcessEnd } from "../process/child-process.js";
import { processStartTicks } from "../process/process-identity.js";
import { followOutput } from "../process/follow-output.js";
import { OutputPacer } from "../process/output-pacer.js";
import { OutputTap, type OutputPiece } from "../process/output-tap.js";
import { OutputWriter, PROCESS_BYTES } from "../process/output-writer.js";
import { TtyProcess } from "../process/tty-process.js";
import type { Db } from "../store/database.js";
import { checkSize, defaultSize } from "./terminal-size.js";
import { outputLostError, outputStored, prepareLaunch, recordEnd, recordLeftRunningLost, stopAllLost, terminate, type ProcessEnvironment } from "./launch.js";
import { PtyClients } from "./pty-clients.js";
import { keyBytes } from "./key-names.js";
import { PtyScreen } from "./pty-screen.js";
import { PtyTables } from "./pty-tables.js";
import type { PtyRecord, SizePolicy, TerminalSize } from "./types.js";
import { findProcess, type ProcessKind } from "./process-refs.js";
import { removeEnded } from "./process-removal.js";
import { reportProcess } from "./process-events.js";
import { ptyScriptWrites } from "./pty-script-writes.js";
import type { ScriptWrites } from "./script-writes.js";
import { PTY_NAMES, checkProcessName } from "./process-names.js";
import { checkLabels, type LabelSelector } from "./labels.js";
import { TerminalAnswers } from "./terminal-answers.js";
import { cursorAfter } from "./terminal-cursor.js";
import type { Workspaces } from "./workspaces.js";

/** How much of a PTY's output is kept: older bytes are dropped (attach from them is CURSOR_EXPIRED). */
export const PTY_RETENTION_BYTES = 64 * 1024 * 1024;
/** How much recent output an attaching client gets replayed by default: enough to redraw a screen. */
export const PTY_REPLAY_BYTES = 64 * 1024;
/** The most one WritePty types at once. */
export const PTY_WRITE_MAX_BYTES = 1024 * 1024;
/**
 * How far behind what the program wrote the furthest of a PTY's attached
 * clients may fall before the program is held (see OutputPacer): half of
 * what is kept, so a client that reads slower than the program floods never
 * loses its place.
 */
export const PTY_PACED_LAG_BYTES = PTY_RETENTION_BYTES / 2;

/**
 * A terminal's output is committed once it has been quiet this long when
 * the store is idle: its clients get it from the tap, and a commit run
 * between a keystroke's echo and the next keystroke cost ~100 µs of the
 * round trip when typing is fast (paired runs here: p50 ~420 vs ~320 µs).
 * Typed or pasted bursts share one commit ...
 */
const TERMINAL_COMMIT_DELAY_MS = 4;
/**
 * ... for at most this long: a commit takes the daemon's thread ~0.4-1.2 ms
 * here (timed), and a keystroke that comes meanwhile waits for it. Keys sent
 * back to back (each on its echo, ~0.3 ms apart) met one every 12 ms, about
 * one keystroke in 30, and round trips' p99 was such a wait (1.3-2.2 ms in
 * traced runs). Output of a flood commits on its own schedule (streaming);
 * what a kill -9 can take from what clients were shown is at most this much
 * of typing's echoes, of a PTY the restart records lost anyway.
 */
const TERMINAL_COMMIT_MAX_DELAY_MS = 100;

export interface PtySpec {
  readonly workspace: string;
  /** Empty: the daemon's $SHELL, or /bin/sh. */
  readonly argv: readonly string[];
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
  readonly size: TerminalSize | undefined;
  readonly sizePolicy: SizePolicy;
  /** Empty: none (process-names.ts). */
  readonly name: string;
  /** What a client tags it with to find it again (labels.ts). */
  readonly labels: Readonly<Record<string, string>>;
}

/** What a script types into a PTY: bytes as keys send them, or keys by name (key-names.ts). */
export type PtyInput = { readonly bytes: Uint8Array } | { readonly keys: readonly string[] };

interface LivePty {
  readonly record: PtyRecord;
  readonly process: TtyProcess;
  readonly writer: OutputWriter;
  readonly tap: OutputTap;
  /** Paces the program to the furthest of its attached clients. */
  readonly pacer: OutputPacer;
  readonly clients: PtyClients;
  /** Scripts' input (WritePty), one write at a time. */
  readonly scriptWrites: ScriptWrites;
  /** The terminal's modes and where lines start, for attaching clients. */
  readonly screen: PtyScreen;
  readonly ended: Promise<PtyRecord>;
}

/** A client's attachment: what it may do to the PTY while attached. */
export interface PtyAttachment {
  readonly pty: PtyRecord;
  readonly fromOffset: number;
  readonly liveOffset: number;
  /** What puts the client's terminal into the program's modes before the replay (see PtyScreen); empty for a closed PTY. */
  readonly terminalModes: Uint8Array;
  readonly chunks: AsyncGenerator<OutputPiece[]>;
  /** Undefined, or a promise to await before taking this client's next message: the terminal has too much of its input waiting. */
  input(data: Uint8Array): Promise<void> | undefined;
  /** The client's typed input has ended: the end-of-file key follows (TtyProcess.endInput). */
  endInput(): void;
  resize(size: TerminalSize): void;
  signal(signal: NodeJS.Signals): void;
  detach(): void;
  /** The PTY as it is once the chunks have ended. */
  final(): PtyRecord;
}

/**
 * PTYs: programs under a terminal in a workspace, outliving every client.
 * Output goes to the PTY's journal (`{id}.pty`, retention PTY_RETENTION_BYTES),
 * so attaching replays from any kept offset and slow clients read from the
 * store while the program runs at full speed; the terminal is paused only
 * when the store itself falls behind. A client that has everything the
 * program wrote gets the next output as it is read (the tap), before it is
 * committed.
 */
export class Ptys {
  private readonly tables: PtyTables;
  private readonly live = new Map<string, LivePty>();
  private nextSeq: number;

  constructor(
    db: Db,
    private readonly journals: Journals,
    private readonly workspaces: Workspaces,
    private readonly environment: ProcessEnvironment,
  ) {
    this.tables = new PtyTables(db);
    this.nextSeq = this.tables.maxSeq() + 1;
    workspaces.whenRemoved((ws) => this.removeInWorkspace(ws.seq));
  }

  /** At daemon start: PTYs the last daemon left open are recorded lost, and their leftover process groups stopped. */
  recover(): void {
    recordLeftRunningLost(this.tables.running(), (row) => this.tables.update(row), "pty", (row) => reportProcess(this.environment.events, "pty", "close", row));
  }

  create(spec: PtySpec): PtyRecord {
    if (spec.name !== "") checkProcessName(PTY_NAMES, spec.name, (name) => this.openNamed(name));
    checkLabels(spec.labels, "a PTY");
    const ws = this.workspaces.usable(spec.workspace);
    const size = defaultSize(spec.size);
    checkSize(size.cols, size.rows);
    const argv = spec.argv.length > 0 ? spec.argv : [defaultShell(this.environment.baseEnv)];
    const id = newId("p-", (candidate) => this.live.has(candidate) || this.tables.byId(candidate) !== undefined);
    const launch = prepareLaunch(ws, this.environment, argv, spec.cwd, { TERM: "xterm-256color", ...spec.env }, { TETHER_PTY: id });
    if (launch.problem !== undefined) throw invalidArgument("argv", `cannot start ${argv[0]}: ${launch.problem.message}`);
    this.journals.create(outputJournal(id), { maxBytes: PTY_RETENTION_BYTES, maxAgeMs: 0 });
    const pacer = new OutputPacer(PTY_PACED_LAG_BYTES, Infinity);
    const tap = new OutputTap();
    const screen = new PtyScreen();
    const clients = new PtyClients(spec.sizePolicy);
    const writer: OutputWriter = new OutputWriter((inputs) => this.journals.append(outputJournal(id), inputs, PROCESS_BYTES), {
      idleCommitDelayMs: TERMINAL_COMMIT_DELAY_MS,
      idleCommitMaxDelayMs: TERMINAL_COMMIT_MAX_DELAY_MS,
      pacer,
      onLost: (bytes) => outputLost(id, bytes, writer, tap, clients),
    });
    const answers = new TerminalAnswers(
      (answer) => process.write(answer),
      (end) => this.cursorAfter(id, end),
    );
    const process = new TtyProcess({
      ...launch,
      ...size,
      onOutput: (chunk) => {
        const offset = tap.offset;
        screen.scan(chunk, offset);
        tap.write(chunk);
        const written = writer.write(1, chunk);
        answers.scan(chunk, offset, clients.answering);
        return written;
      },
    });
    // What the program left in the terminal is read at once, whether or not its clients read.
    void process.exited.then(() => pacer.close());
    const record: PtyRecord = {
      seq: this.nextSeq++,
      id,
      workspaceSeq: ws.seq,
      workspaceId: ws.id,
      argv: [...argv],
      cwd: launch.cwd,
      name: spec.name === "" ? undefined : spec.name,
      labels: { ...spec.labels },
      size,
      sizePolicy: spec.sizePolicy,
      status: "running",
      pid: process.pid,
      exitCode: undefined,
      signal: undefined,
      error: undefined,
      createdAt: Date.now(),
      endedAt: undefined,
    };
    this.tables.insert(record, processStartTicks(process.pid));
    reportProcess(this.environment.events, "pty", "open", record, { pid: String(process.pid) });
    let stoppedBecause: string | undefined;
    const ended = process.ended.then(async (end) => {
      await outputStored(writer, this.journals, id);
      this.finish(record, end, writer.describeLost(), stoppedBecause);
      this.live.delete(id);
      reportProcess(this.environment.events, "pty", "close", record);
      tap.end();
      return record;
    });
    this.live.set(id, { record, process, writer, tap, pacer, clients, scriptWrites: ptyScriptWrites(id, process), screen, ended });
    this.workspaces.live.add(ws.id, { kind: "pty", signal: (s) => process.signal(s), ended, stopping: (reason) => (stoppedBecause = reason) });
    return record;
  }

  /**
   * Attaches a client: its output from `fromOffset` (default: the last
   * PTY_REPLAY_BYTES, from the first line or escape sequence start in
   * them: PtyScreen), then live until the program ends. A closed PTY gives
   * its kept output and its exit. Input, resize and signals act while open.
   */
  attach(
    ref: string,
    options: {
      readOnly: boolean;
      size: TerminalSize | undefined;
      fromOffset: number | undefined;
      /** False: only the output stored so far, as a client that is not attached (ReadPty's no_follow). */
      follow?: boolean | undefined;
      /** Ask the program to draw its screen whole, as a client with a screen does (ReadPty's redraw). */
      redraw?: boolean | undefined;
      /** A reader (ReadPty), not an attached terminal: detaching a PTY's clients leaves it be. */
      reader?: boolean | undefined;
      /** Detach every other attached client first, as tmux attach -d (PtyOpen.detach_others). */
      detachOthers?: boolean | undefined;
      signal: AbortSignal;
      /** Sends a small piece of live output to the client at once when it can (see TapReader.direct); the rest comes in `chunks`. */
      direct?: ((piece: OutputPiece) => boolean) | undefined;
    },
  ): PtyAttachment {
    if (options.size !== undefined) checkSize(options.size.cols, options.size.rows);
    const pty = this.find(ref);
    const running = this.live.get(pty.id);
    const live = options.follow === false ? undefined : running;
    const bounds = this.journals.get(outputJournal(pty.id));
    // What the program has written so far: committed, or still on its way to the store (what a follower will get).
    const written = live?.tap.offset ?? bounds.nextOffset;
    const recent = Math.max(bounds.firstOffset, written - PTY_REPLAY_BYTES);
    const fromOffset = options.fromOffset ?? running?.screen.replayStart(recent, written) ?? recent;
    if (fromOffset < 0) throw invalidArgument("from_offset", "from_offset must be 0 or a positive byte offset");
    const client = live?.clients.add(options.readOnly, options.reader !== true, options.readOnly ? undefined : options.size);
    if (live !== undefined && client?.attached === true) live.record.attachedAt = Date.now();
    if (live !== undefined) reportProcess(this.environment.events, "pty", "attach", live.record, { clients: String(live.clients.count), read_only: String(options.readOnly) });
    if (options.detachOthers === true) live?.clients.detachAttached(client, `another client attached to pty ${pty.name ?? pty.id} and detached the others (tether pty attach --detach-others)`);
    const resized = live !== undefined && this.applySize(live);
    // A client with a screen joins a program that has drawn on its own: the program is asked to draw it
    // whole again (a size change asks by itself), as the replay alone shows only its last 64 KiB of drawing.
    if (running !== undefined && (options.size !== undefined || options.redraw === true) && !resized && written > 0) running.process.redraw();
    const signal = client === undefined ? options.signal : AbortSignal.any([options.signal, client.stop.signal]);
    // Input racing the program's exit is dropped, not an error: the exit is on its way to this client.
    const writable = (what: string): LivePty | undefined => {
      if (client?.readOnly === true) throw new TetherError(Code.PermissionDenied, "READ_ONLY", `this client attached read-only and cannot ${what}: attach without --read-only to type`);
      // A client another detached (its call ending) types no more.
      return client?.stop.signal.aborted === true ? undefined : this.live.get(pty.id);
    };
    return {
      pty: this.current(pty),
      fromOffset,
      liveOffset: written,
      terminalModes: running?.screen.terminalModes() ?? new Uint8Array(0),
      chunks: followOutput(this.journals, outputJournal(pty.id), fromOffset, live, signal, { pacing: live?.pacer.attach(fromOffset), direct: options.direct }),
      input: (data) => {
        const target = writable("type");
        if (target === undefined) return undefined;
        target.clients.touch(client!);
        this.applySize(target);
        return target.process.write(data);
      },
      endInput: () => writable("type")?.process.endInput(),
      resize: (size) => {
        checkSize(size.cols, size.rows);
        const target = this.live.get(pty.id);
        if (client === undefined || client.readOnly || target === undefined) return;
        client.size = size;
        target.clients.touch(client);
        this.applySize(target);
      },
      signal: (signal) => {
        writable("send signals")?.process.signal(signal);
      },
      detach: () => {
        if (live === undefined || client === undefined) return;
        live.clients.remove(client);
        if (client.attached) live.record.attachedAt = Date.now();
        reportProcess(this.environment.events, "pty", "detach", live.record, { clients: String(live.clients.count) });
        this.applySize(live);
      },
      final: () => this.current(this.tables.byId(pty.id) ?? pty),
    };
  }

  /** Where PTY `id`'s cursor is once its output up to `end` has been drawn (terminal-cursor.ts), while it is open. */
  private async cursorAfter(id: string, end: number): Promise<{ x: number; y: number; cols: number } | undefined> {
    const live = this.live.get(id);
    if (live === undefined) return undefined;
    return cursorAfter({ journals: this.journals, journal: outputJournal(id), writer: live.writer, screen: live.screen, backBytes: PTY_REPLAY_BYTES }, live.record.size, end);
  }

  get(ref: string): PtyRecord {
    return this.current(this.find(ref));
  }

  /** A workspace's PTYs (every workspace's when ref is empty), newest first, before `beforeSeq`; open ones only, with every label selected. */
  list(workspaceRef: string, beforeSeq: number, limit: number, filter: { openOnly: boolean; labels: readonly LabelSelector[] }): PtyRecord[] {
    const workspaceSeq = workspaceRef === "" ? undefined : this.workspaces.resolve(workspaceRef).seq;
    return this.tables.page({ workspaceSeq, liveOnly: filter.openOnly, labels: filter.labels }, beforeSeq, limit).map((p) => this.current(p));
  }

  /** Names an open PTY anew (tmux rename-session); "" takes its name away. */
  rename(ref: string, name: string): PtyRecord {
    const live = this.requireOpen(this.find(ref).id);
    if (name !== "") checkProcessName(PTY_NAMES, name, (taken) => (taken === live.record.name ? undefined : this.openNamed(taken)));
    live.record.name = name === "" ? undefined : name;
    this.tables.update(live.record);
    return this.current(live.record);
  }

  /** Sets the size directly (a script's resize); the next client activity applies the policy again. */
  resize(ref: string, size: TerminalSize): PtyRecord {
    checkSize(size.cols, size.rows);
    const live = this.requireOpen(this.find(ref).id);
    this.setSize(live, size);
    return this.current(live.record);
  }

  /**
   * Types into an open PTY for a client that is not attached (a script's
   * WritePty), bytes or keys by name (key-names.ts): resolves once the terminal has taken the bytes for its
   * program, which waits while it has too much input waiting (see
   * scriptWritesTo). The size policy does not count it as a client's
   * activity.
   */
  async write(ref: string, input: PtyInput, signal: AbortSignal): Promise<PtyRecord> {
    const live = this.requireOpen(this.find(ref).id);
    // Keys by name are typed as the program's modes ask now (application cursor keys).
    const data = "keys" in input ? keyBytes(input.keys, live.screen.applicationCursorKeys) : input.bytes;
    if (data.byteLength === 0) throw invalidArgument("data", "give the input to type: data, text or keys, at least one byte");
    if (data.byteLength > PTY_WRITE_MAX_BYTES) throw invalidArgument("data", `one write to a PTY holds at most ${PTY_WRITE_MAX_BYTES} bytes: send more in several`);
    await live.scriptWrites.write(data, signal);
    return this.current(live.record);
  }

  signal(ref: string, signal: NodeJS.Signals): PtyRecord {
    const live = this.requireOpen(this.find(ref).id);
    live.process.signal(signal);
    return this.current(live.record);
  }

  /** SIGHUP (a terminal closing), SIGKILL after the grace period; resolves once the program has ended. A closed PTY is returned as it is. */
  async close(ref: string, graceMs: number): Promise<PtyRecord> {
    const pty = this.find(ref);
    const live = this.live.get(pty.id);
    if (live === undefined) return this.current(pty);
    return this.current(await terminate(live.process, live.ended, "SIGHUP", graceMs));
  }

  /** Removes a closed PTY with the output it kept (see removeEnded); resolves with it as it was and the bytes of output removed. */
  async remove(ref: string): Promise<{ pty: PtyRecord; outputBytes: number }> {
    const pty = this.current(this.find(ref));
    const outputBytes = await removeEnded(PTY_KIND, this.journals, {
      id: pty.id,
      stopFirst: this.live.has(pty.id) ? `close it with tether pty kill ${pty.id}` : undefined,
      journal: outputJournal(pty.id),
      deleteRow: () => this.tables.delete(pty.seq),
    });
    reportProcess(this.environment.events, "pty", "remove", pty);
    return { pty, outputBytes };
  }

  /** Removes the PTYs of a workspace being removed (closed already), at once: their commits are shared. */
  private async removeInWorkspace(workspaceSeq: number): Promise<void> {
    await Promise.all(this.tables.idsInWorkspace(workspaceSeq).map((id) => this.remove(id)));
  }

  /** Detaches every client attached to an open PTY (tmux detach-client -s); readers read on. How many were. */
  detachClients(ref: string): { pty: PtyRecord; detached: number } {
    const live = this.requireOpen(this.find(ref).id);
    const detached = live.clients.detachAttached(undefined, `pty ${live.record.name ?? live.record.id}'s clients were detached (tether pty detach)`);
    return { pty: this.current(live.record), detached };
  }

  /** Attached clients of a PTY (0 when closed). */
  attachedClients(id: string): number {
    return this.live.get(id)?.clients.count ?? 0;
  }

  /** The output bounds of a PTY: the offset the next byte gets and the oldest kept. */
  outputBounds(id: string): { nextOffset: number; firstOffset: number } {
    try {
      return this.journals.get(outputJournal(id));
    } catch {
      return { nextOffset: 0, firstOffset: 0 };
    }
  }

  /** At daemon stop: open PTYs are recorded lost and their process groups killed. */
  async shutdown(reason: string): Promise<void> {
    await stopAllLost([...this.live.values()], reason);
  }

  /** Gives the PTY the size its clients' policy says; whether that changed it. */
  private applySize(live: LivePty): boolean {
    const size = live.clients.size();
    return size !== undefined && this.setSize(live, size);
  }

  /** Whether the size changed. */
  private setSize(live: LivePty, size: TerminalSize): boolean {
    if (live.record.size.cols === size.cols && live.record.size.rows === size.rows) return false;
    live.record.size = size;
    live.process.resize(size.cols, size.rows);
    live.screen.resized();
    return true;
  }

  private finish(record: PtyRecord, end: ProcessEnd, lost: string | undefined, stopped: string | undefined): void {
    recordEnd(record, end, lost, stopped);
    record.pid = undefined;
    record.endedAt = Date.now();
    try {
      this.tables.update(record);
    } catch (error) {
      log(`pty ${record.id}: could not record its end: ${(error as Error).message}`);
    }
  }

  private current(pty: PtyRecord): PtyRecord {
    return this.live.get(pty.id)?.record ?? pty;
  }

  private requireOpen(id: string): LivePty {
    const live = this.live.get(id);
    if (live === undefined) {
      throw new TetherError(Code.FailedPrecondition, "PTY_CLOSED", `pty ${id} is closed (its program ended): tether pty attach ${id} shows its last output`, { pty: id });
    }
    return live;
  }

  private find(ref: string): PtyRecord {
    return findProcess(ref, PTY_KIND, {
      live: (id) => this.live.get(id)?.record,
      stored: (id) => this.tables.byId(id),
      storedByPrefix: (prefix) => this.tables.byPrefix(prefix),
      byName: (name) => this.tables.byName(name),
    });
  }

  /** The open PTY named `name`, if any. */
  private openNamed(name: string): PtyRecord | undefined {
    for (const live of this.live.values()) if (live.record.name === name) return live.record;
    return undefined;
  }
}

const PTY_KIND: ProcessKind = { field: "pty", noun: "PTY", plural: "PTYs", collection: "ptys", notFoundReason: "PTY_NOT_FOUND" };

export function outputJournal(ptyId: string): string {
  return `${ptyId}.pty`;
}

/**
 * A commit of a terminal's output failed (a full disk): those bytes are not
 * in the journal, so the offsets its clients were shown no longer match it.
 * The tap moves on at the journal's offsets, and every client attached now
 * is ended with STORE_FAILED naming what was lost (an exec's clients are
 * too); the program runs on, and a client that attaches again reads on from
 * what the journal holds.
 */
function outputLost(id: string, bytes: number, writer: OutputWriter, tap: OutputTap, clients: PtyClients): void {
  tap.lose(bytes);
  clients.stopAll(outputLostError(`pty ${id}`, writer, `the program runs on: free disk space where the daemon keeps its state, then attach again (tether pty attach ${id})`));
}
