import { Code, type Client } from "@connectrpc/connect";
import { create as createMessage, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect as http2Connect } from "node:http2";
import { connect } from "node:net";
import { describe, expect, it } from "vitest";
import { DaemonService } from "../../gen/tether/v1/daemon_service_pb.js";
import { ErrorReason } from "../../gen/tether/v1/errors_pb.js";
import { ExecStatus } from "../../gen/tether/v1/exec_pb.js";
import { ExecService } from "../../gen/tether/v1/exec_service_pb.js";
import { PtyState, SizePolicy } from "../../gen/tether/v1/pty_pb.js";
import { AttachPtyRequestSchema, PtyService } from "../../gen/tether/v1/pty_service_pb.js";
import { SessionService } from "../../gen/tether/v1/session_service_pb.js";
import { WorkspaceService } from "../../gen/tether/v1/workspace_service_pb.js";
import { COALESCED_RECORD_BYTES } from "../../daemon/process/output-writer.js";
import { PTY_PACED_LAG_BYTES, PTY_REPLAY_BYTES, PTY_RETENTION_BYTES } from "../../daemon/workspaces/ptys.js";
import { daemonPerTest, type TestDaemon } from "../helpers/daemon.js";
import { failure } from "../helpers/errors.js";
import { CAN_FILL_A_DISK, onSmallDisk } from "../helpers/full-disk.js";
import { CAN_LIMIT_PROCESSES, withoutNewProcesses } from "../helpers/pids-limit.js";
import { PtyClient } from "../helpers/ptys.js";
import { execToEnd } from "../helpers/execs.js";
import { alive, eventually, waitQuiet, writeTaskFile } from "../helpers/sessions.js";

const daemon = daemonPerTest();

async function setup(): Promise<{ d: TestDaemon; ptys: Client<typeof PtyService> }> {
  const d = await daemon();
  await d.client(WorkspaceService).createWorkspace({ displayName: "w" });
  return { d, ptys: d.client(PtyService) };
}

const create = (argv: string[], size = { cols: 80, rows: 24 }, sizePolicy = SizePolicy.LATEST) =>
  ({ kind: { case: "open" as const, value: { target: { case: "create" as const, value: { workspace: "w", argv, sizePolicy } }, size } } });
const attachTo = (pty: string, options: { size?: { cols: number; rows: number }; readOnly?: boolean; fromOffset?: bigint } = {}) =>
  ({ kind: { case: "open" as const, value: { target: { case: "pty" as const, value: pty }, ...options } } });

function vmHwmBytes(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith("VmHWM:"))!;
  return Number(line.split(/\s+/)[1]) * 1024;
}

describe("PTYs", () => {
  it("two clients see every keystroke's effect; a read-only client cannot type; the latest active client's size wins", async () => {
    const { ptys } = await setup();
    const a = new PtyClient(ptys, create(["sh"], { cols: 100, rows: 30 }));
    await eventually(() => a.pty);
    const id = a.pty!.id;
    const b = new PtyClient(ptys, attachTo(id, { size: { cols: 60, rows: 20 } }));
    const watcher = new PtyClient(ptys, attachTo(id, { readOnly: true, size: { cols: 10, rows: 5 } }));
    await eventually(() => (b.pty !== undefined && watcher.pty !== undefined ? true : undefined));
    expect((await ptys.getPty({ pty: id })).pty!.attachedClients).toBe(3);
    // b attached last: its size applies (the read-only watcher has no say).
    expect((await ptys.getPty({ pty: id })).pty!.size).toMatchObject({ cols: 60, rows: 20 });
    a.type("stty size; echo typed-by-$((40+2))\r");
    for (const c of [a, b, watcher]) await eventually(() => (c.text.includes("typed-by-42") ? true : undefined));
    // a typed last: the terminal takes a's size.
    expect(a.text).toContain("30 100");
    b.type("stty size\r");
    await eventually(() => (a.text.includes("20 60") ? true : undefined));

    watcher.type("echo sneaky\r");
    await watcher.done;
    const denied = await failure(Promise.reject(watcher.error));
    expect([denied.code, denied.reason]).toEqual([Code.PermissionDenied, ErrorReason.READ_ONLY]);
    expect(a.text).not.toContain("sneaky");

    for (const size of [{ cols: 0, rows: 0 }, { cols: 5000, rows: 24 }]) {
      const bad = await failure(ptys.resizePty({ pty: id, size }));
      expect([bad.code, bad.message]).toEqual([Code.InvalidArgument, expect.stringMatching(/1-1000/)]);
    }
    await ptys.resizePty({ pty: id, size: { cols: 132, rows: 43 } });
    a.type("exit 4\r");
    await Promise.all([a.done, b.done]);
    for (const c of [a, b]) expect([c.exit!.status, c.exit!.exitCode]).toEqual([ExecStatus.EXITED, 4]);
  });

  it("the smallest policy gives the smallest columns and rows among typing clients", async () => {
    const { ptys } = await setup();
    const a = new PtyClient(ptys, create(["sh"], { cols: 100, rows: 20 }, SizePolicy.SMALLEST));
    await eventually(() => a.pty);
    const b = new PtyClient(ptys, attachTo(a.pty!.id, { size: { cols: 120, rows: 10 } }));
    await eventually(() => b.pty);
    await eventually(async () => {
      const size = (await ptys.getPty({ pty: a.pty!.id })).pty!.size!;
      return size.cols === 100 && size.rows === 10 ? true : undefined;
    });
    b.vanish();
    await eventually(async () => ((await ptys.getPty({ pty: a.pty!.id })).pty!.attachedClients === 1 ? true : undefined));
    await ptys.closePty({ pty: a.pty!.id, grace: { seconds: 1n } });
  });

  it("never loses the tail: 200 fast-exiting writers each deliver every byte, and every attached client gets the last output and the exit", async () => {
    const { ptys } = await setup();
    const size = 100_000;
    const runs = 200;
    let complete = 0;
    for (let batch = 0; batch < runs; batch += 10) {
      await Promise.all(
        Array.from({ length: 10 }, async () => {
          const c = new PtyClient(ptys, create(["sh", "-c", `head -c ${size} /dev/zero | tr '\\0' a; printf END`]));
          await c.done;
          expect(c.exit!.exitCode).toBe(0);
          if (c.output.length === size + 3 && c.text.endsWith("END") && c.seams.length === 0) complete++;
        }),
      );
    }
    expect(complete).toBe(runs);
  });

  it("the exit reaches the client as the program ends, not after node-pty's own 200 ms wait for its socket", async () => {
    const { ptys } = await setup();
    const lags: number[] = [];
    for (let i = 0; i < 7; i++) {
      const c = new PtyClient(ptys, create(["sh", "-c", "printf last; exit 4"]));
      await c.done;
      expect([c.text, c.exit?.exitCode]).toEqual(["last", 4]);
      lags.push(c.exitAt - c.lastOutputAt);
    }
    lags.sort((a, b) => a - b);
    // node-pty reports an exit once its socket closes, which it forces 200 ms on: every exit came ~234 ms after the output.
    // Now the terminal's last read and the end's commit: a few ms here (~35 with the 30 ms wait for quiet there was before).
    expect(lags[3]).toBeLessThan(30);
  });

  it("a closed PTY attaches to its final output and exit, not an error; it takes no input or signals; binary output is kept byte for byte", async () => {
    const { ptys } = await setup();
    const bytes = [0xff, 0xfe, 0x00, 0x1b, 0x5b, 0x33, 0x31, 0x6d, 0xc3, 0x28];
    const writer = new PtyClient(ptys, create(["printf", bytes.map((b) => `\\${b.toString(8).padStart(3, "0")}`).join("")]));
    await writer.done;
    expect([...writer.output]).toEqual(bytes);
    const id = writer.pty!.id;
    const late = new PtyClient(ptys, attachTo(id, { fromOffset: 0n }));
    await late.done;
    expect(late.error).toBeUndefined();
    expect([...late.output]).toEqual(bytes);
    expect(late.exit!.exitCode).toBe(0);
    const got = (await ptys.getPty({ pty: id })).pty!;
    expect([got.state, Number(got.outputBytes)]).toEqual([PtyState.CLOSED, bytes.length]);
    const signal = await failure(ptys.signalPty({ pty: id, signal: "INT" }));
    expect([signal.code, signal.reason]).toEqual([Code.FailedPrecondition, ErrorReason.PTY_CLOSED]);
    const missing = await failure(ptys.getPty({ pty: "p-nope" }));
    expect([missing.code, missing.reason]).toEqual([Code.NotFound, ErrorReason.PTY_NOT_FOUND]);
  });

  it("labels tag a PTY to find it again: listed by k=v and k selectors (with a workspace, open ones), kept across a daemon restart; bad ones refused", async () => {
    const { d, ptys } = await setup();
    const mine = (await ptys.createPty({ spec: { workspace: "w", argv: ["sleep", "60"], labels: { agent: "a1", role: "shell" } } })).pty!;
    const other = (await ptys.createPty({ spec: { workspace: "w", argv: ["true"], labels: { agent: "a2" } } })).pty!;
    const plain = (await ptys.createPty({ spec: { workspace: "w", argv: ["sleep", "60"] } })).pty!;
    expect(mine.labels).toEqual({ agent: "a1", role: "shell" });
    await eventually(async () => ((await ptys.getPty({ pty: other.id })).pty!.state === PtyState.CLOSED ? true : undefined));
    const ids = async (labelSelector: string[], openOnly = false, workspace = ""): Promise<string[]> => (await ptys.listPtys({ labelSelector, openOnly, workspace })).ptys.map((p) => p.id);
    expect(await ids(["agent=a1"])).toEqual([mine.id]);
    expect(await ids(["agent"])).toEqual([other.id, mine.id]);
    expect(await ids(["agent"], true, "w")).toEqual([mine.id]);
    expect(await ids(["agent=a1", "role=shell"])).toEqual([mine.id]);
    expect(await ids([])).toEqual([plain.id, other.id, mine.id]);
    const badKey = await failure(ptys.createPty({ spec: { workspace: "w", argv: ["true"], labels: { "bad key": "x" } } }));
    expect([badKey.code, badKey.message]).toEqual([Code.InvalidArgument, 'label key "bad key" is not allowed: use 1-63 letters, digits, \'.\', \'_\', \'/\' or \'-\'']);
    expect((await failure(ptys.listPtys({ labelSelector: ["="] }))).code).toBe(Code.InvalidArgument);
    await d.stop();
    await d.restart();
    expect((await ptys.getPty({ pty: mine.id })).pty!.labels).toEqual({ agent: "a1", role: "shell" });
    expect(await ids(["role"])).toEqual([mine.id]);
  });

  it("a name (tmux new -s) names a PTY too, unique among open ones: attach, write, signal and get by it; renamed; free again once it closes; kept across a daemon restart", async () => {
    const { d, ptys } = await setup();
    const dev = (await ptys.createPty({ spec: { workspace: "w", argv: ["cat"], displayName: "dev" } })).pty!;
    expect(dev.displayName).toBe("dev");
    const taken = await failure(ptys.createPty({ spec: { workspace: "w", argv: ["true"], displayName: "dev" } }));
    expect([taken.code, taken.reason, taken.message]).toEqual([Code.AlreadyExists, ErrorReason.PTY_NAME_TAKEN, `PTY ${dev.id} is open with the name dev: attach to it (tether pty attach dev), or pick another name`]);
    for (const [name, said] of [["p-1", "starts with p-, as PTY ids do"], ["a b", "is invalid: use 1-63 letters"], ["x".repeat(64), "is invalid"]] as const) {
      const bad = await failure(ptys.createPty({ spec: { workspace: "w", argv: ["true"], displayName: name } }));
      expect([bad.code, bad.message]).toEqual([Code.InvalidArgument, expect.stringContaining(said)]);
    }
    // Attached by its name, typed into by it: the program answers.
    const client = new PtyClient(ptys, attachTo("dev", { size: { cols: 80, rows: 24 } }));
    await ptys.writePty({ pty: "dev", data: Buffer.from("named\r") });
    await eventually(() => (client.text.includes("named\r\nnamed") ? true : undefined));
    expect(client.pty!.id).toBe(dev.id);
    expect((await ptys.listPtys({ workspace: "w" })).ptys.map((p) => [p.id, p.displayName])).toEqual([[dev.id, "dev"]]);
    await ptys.signalPty({ pty: "dev", signal: "TERM" });
    await client.done;
    // Renamed, as tmux rename-session: the new name names it, the old one nothing open; a taken name is refused.
    const other = (await ptys.createPty({ spec: { workspace: "w", argv: ["sleep", "60"], displayName: "other" } })).pty!;
    expect((await ptys.renamePty({ pty: "other", displayName: "renamed" })).pty!.displayName).toBe("renamed");
    expect((await ptys.getPty({ pty: "renamed" })).pty!.id).toBe(other.id);
    expect((await failure(ptys.getPty({ pty: "other" }))).reason).toBe(ErrorReason.PTY_NOT_FOUND);
    const busy = (await ptys.createPty({ spec: { workspace: "w", argv: ["sleep", "60"], displayName: "busy" } })).pty!;
    expect((await failure(ptys.renamePty({ pty: "renamed", displayName: "busy" }))).reason).toBe(ErrorReason.PTY_NAME_TAKEN);
    await ptys.closePty({ pty: busy.id });
    expect((await ptys.renamePty({ pty: "renamed", displayName: "renamed" })).pty!.displayName).toBe("renamed");
    expect((await ptys.renamePty({ pty: "renamed", displayName: "" })).pty!.displayName).toBe("");
    await ptys.closePty({ pty: other.id });
    expect((await failure(ptys.renamePty({ pty: other.id, displayName: "late" }))).reason).toBe(ErrorReason.PTY_CLOSED);
    // Closed, its name is free: a new PTY takes it, and the name names the open one first.
    const again = (await ptys.createPty({ spec: { workspace: "w", argv: ["sleep", "60"], displayName: "dev" } })).pty!;
    expect((await ptys.getPty({ pty: "dev" })).pty!.id).toBe(again.id);
    await d.kill();
    await d.restart();
    // The open one was lost with its daemon; the name now names the newest of them, closed.
    const kept = (await ptys.getPty({ pty: "dev" })).pty!;
    expect([kept.id, kept.displayName, kept.state]).toEqual([again.id, "dev", PtyState.CLOSED]);
    expect((await ptys.createPty({ spec: { workspace: "w", argv: ["true"], displayName: "dev" } })).pty!.displayName).toBe("dev");
  });

  it("a client that vanishes without detaching detaches; the program goes on and a later attach replays the screen", async () => {
    const { ptys } = await setup();
    const a = new PtyClient(ptys, create(["sh"]));
    await eventually(() => a.pty);
    a.type("echo before-vanish\r");
    await eventually(() => (a.text.includes("before-vanish\r\n") ? true : undefined));
    a.vanish();
    await eventually(async () => ((await ptys.getPty({ pty: a.pty!.id })).pty!.attachedClients === 0 ? true : undefined));
    expect(alive(a.pty!.pid)).toBe(true);
    const b = new PtyClient(ptys, attachTo(a.pty!.id, { size: { cols: 80, rows: 24 } }));
    await eventually(() => (b.text.includes("before-vanish") ? true : undefined));
    b.send({ kind: { case: "detach", value: true } });
    await b.done;
    expect([b.error, b.exit]).toEqual([undefined, undefined]);
    const closed = await ptys.closePty({ pty: a.pty!.id, grace: { seconds: 1n } });
    expect([closed.pty!.state, closed.pty!.exit!.status]).toEqual([PtyState.CLOSED, ExecStatus.SIGNALLED]);
  });

  it("a client attaching with detach_others detaches every other attached client (tmux attach -d), DetachPty every one (detach-client): each is told why and its call ends cleanly; readers read on, the program goes on", async () => {
    const { ptys } = await setup();
    const a = new PtyClient(ptys, create(["sh"], { cols: 100, rows: 30 }));
    await eventually(() => a.pty);
    const id = a.pty!.id;
    const watcher = new PtyClient(ptys, attachTo(id, { readOnly: true }));
    await eventually(() => watcher.pty);
    const reading = new AbortController();
    let read = "";
    const reader = (async () => {
      for await (const r of ptys.readPty({ pty: id }, { signal: reading.signal })) if (r.kind.case === "output") read += Buffer.from(r.kind.value.data).toString("latin1");
    })().catch(() => undefined);
    await eventually(async () => ((await ptys.getPty({ pty: id })).pty!.attachedClients === 3 ? true : undefined));

    const b = new PtyClient(ptys, { kind: { case: "open", value: { target: { case: "pty", value: id }, size: { cols: 70, rows: 20 }, detachOthers: true } } });
    await Promise.all([a.done, watcher.done]);
    for (const c of [a, watcher]) {
      expect([c.error, c.exit, c.detachedBy]).toEqual([undefined, undefined, expect.stringContaining("detached the others")]);
    }
    await eventually(() => b.pty);
    // b and the reader; the PTY's size is b's alone.
    expect((await ptys.getPty({ pty: id })).pty).toMatchObject({ attachedClients: 2, size: { cols: 70, rows: 20 } });
    b.type("echo after-$((6*7))\r");
    await eventually(() => (read.includes("after-42") && b.text.includes("after-42") ? true : undefined));
    expect(a.text).not.toContain("after-42");

    const detachedAll = await ptys.detachPty({ pty: id });
    expect(detachedAll.detached).toBe(1);
    await b.done;
    expect([b.error, b.exit, b.detachedBy]).toEqual([undefined, undefined, expect.stringContaining("tether pty detach")]);
    expect(detachedAll.pty!.attachedClients).toBe(1);
    expect(alive(a.pty!.pid)).toBe(true);
    await ptys.writePty({ pty: id, text: "echo still-$((5*5))\r" });
    await eventually(() => (read.includes("still-25") ? true : undefined));
    expect((await ptys.detachPty({ pty: id })).detached).toBe(0);

    reading.abort();
    await reader;
    await ptys.closePty({ pty: id, grace: { seconds: 1n } });
    const closed = await failure(ptys.detachPty({ pty: id }));
    expect([closed.code, closed.reason]).toEqual([Code.FailedPrecondition, ErrorReason.PTY_CLOSED]);
  });

  it("an attaching client is told the terminal modes the program set long before its replay, and the replay starts at a line's start", async () => {
    const { ptys } = await setup();
    // Modes set at the start, one of them undone; then far more output than a replay holds, in lines of 6 bytes.
    const modes = String.raw`\033[?1049h\033[?1h\033=\033[?2004h\033[?1000;1006h\033[?25l\033[3;20r\033[?1000l`;
    const a = new PtyClient(ptys, create(["sh", "-c", `printf '${modes}'; seq 100000 130000; echo done; sleep 600`]));
    await eventually(() => (a.text.includes("done") ? true : undefined));
    expect(a.opened!.terminalModes).toHaveLength(0);

    const b = new PtyClient(ptys, attachTo(a.pty!.id));
    await eventually(() => (b.text.includes("done") ? true : undefined));
    expect(Buffer.from(b.opened!.terminalModes).toString("latin1")).toBe("\x1b[?1049h\x1b[?1h\x1b[?2004h\x1b[?1006h\x1b[?25l\x1b=\x1b7\x1b[3;20r\x1b8");
    const from = Number(b.opened!.fromOffset);
    const written = Number(b.opened!.liveOffset);
    expect(b.firstOffset).toBe(from);
    // Lines are noted one per KiB at most: the replay starts at most that and a line later.
    expect(from - (written - PTY_REPLAY_BYTES)).toBeGreaterThanOrEqual(0);
    expect(from - (written - PTY_REPLAY_BYTES)).toBeLessThan(1024 + 8);
    // The byte before the replay ends a line: the replay is whole lines (seq's, and the terminal's CR LF).
    const whole = new PtyClient(ptys, attachTo(a.pty!.id, { fromOffset: 0n }));
    await eventually(() => (whole.text.includes("done") ? true : undefined));
    expect(whole.output[from - 1]).toBe(0x0a);
    expect(b.text).toMatch(/^1\d{5}\r\n/);
    expect(whole.text.endsWith(b.text)).toBe(true);
    for (const client of [a, b, whole]) client.send({ kind: { case: "detach", value: true } });
    await ptys.closePty({ pty: a.pty!.id, grace: { seconds: 1n } });
  });

  it("a client with a screen attaching asks the program in the foreground to redraw (SIGWINCH), once, also when its size changes the PTY's; a client without one does not", async () => {
    const { ptys } = await setup();
    // The job in the foreground (job control puts it in a process group of its own), not the shell that started it, is asked.
    const program = `set -m; trap 'echo shell-asked' WINCH; sh -c "trap 'echo redraw-asked' WINCH; echo ready; while :; do sleep 0.02; done"`;
    const a = new PtyClient(ptys, create(["sh", "-c", program]));
    await eventually(() => (a.text.includes("ready") ? true : undefined));
    const asked = (): number => a.text.split("redraw-asked").length - 1;
    expect(asked()).toBe(0);
    const b = new PtyClient(ptys, attachTo(a.pty!.id, { size: { cols: 80, rows: 24 } }));
    await eventually(() => (asked() === 1 ? true : undefined));
    // All of a short output is replayed, from its first line.
    expect([Number(b.opened!.fromOffset), b.text.startsWith("ready\r\n")]).toEqual([0, true]);
    const script = new PtyClient(ptys, attachTo(a.pty!.id));
    const watcher = new PtyClient(ptys, attachTo(a.pty!.id, { size: { cols: 80, rows: 24 }, readOnly: true }));
    await eventually(() => (asked() === 2 ? true : undefined));
    const larger = new PtyClient(ptys, attachTo(a.pty!.id, { size: { cols: 100, rows: 30 } }));
    await eventually(() => (asked() === 3 ? true : undefined));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect([asked(), a.text.includes("shell-asked")]).toEqual([3, false]);
    expect((await ptys.getPty({ pty: a.pty!.id })).pty!.size).toMatchObject({ cols: 100, rows: 30 });
    for (const client of [a, b, script, watcher, larger]) client.send({ kind: { case: "detach", value: true } });
    await ptys.closePty({ pty: a.pty!.id, grace: { seconds: 1n } });
  });

  it("a flood with one client that never reads: the reading client gets every byte and the daemon's memory stays bounded", async () => {
    const { d, ptys } = await setup();
    const before = vmHwmBytes(d.process.pid!);
    // Past the 64 MiB kept, so the oldest output expires (the reading client sets the program's pace: see the next test).
    const total = 80 * 1024 * 1024;
    const reader = new PtyClient(ptys, create(["sh", "-c", `sleep 0.5; head -c ${total} /dev/zero | tr '\\0' a`]));
    await eventually(() => reader.pty);
    // Its own connection, as a real stuck client would have: HTTP/2 flow control is per connection too.
    const stuck = new PtyClient(d.client(PtyService), attachTo(reader.pty!.id, { fromOffset: 0n }), { read: false });
    await reader.done;
    expect(reader.error).toBeUndefined();
    expect(reader.received).toBe(total);
    expect(reader.seams).toEqual([]);
    expect(reader.exit!.exitCode).toBe(0);
    const grew = vmHwmBytes(d.process.pid!) - before;
    expect(grew).toBeLessThan(total);
    stuck.vanish();
    // Retention keeps the newest 64 MiB (whole records): the oldest output is gone, and asking for it says where the kept output starts.
    const kept = (await ptys.getPty({ pty: reader.pty!.id })).pty!;
    expect(Number(kept.outputBytes)).toBe(total);
    expect(Number(kept.firstOffset)).toBeGreaterThanOrEqual(total - PTY_RETENTION_BYTES - COALESCED_RECORD_BYTES);
    const expired = new PtyClient(ptys, attachTo(reader.pty!.id, { fromOffset: 0n }));
    await expired.done;
    const f = await failure(Promise.reject(expired.error));
    expect([f.code, f.reason]).toEqual([Code.OutOfRange, ErrorReason.CURSOR_EXPIRED]);
    expect(f.message).toMatch(/no longer retained: the earliest available is .*offset \d+/);
  });

  it("a client that reads in bursts during a flood gets every byte in order: live while it keeps up, from the store when it falls behind", async () => {
    const { ptys } = await setup();
    const total = 24 * 1024 * 1024;
    const script = `seq 1 5000000 | head -c ${total}`;
    const expected = execFileSync("sh", ["-c", script], { maxBuffer: 2 * total }).toString("latin1");
    const c = new PtyClient(ptys, create(["sh", "-c", `stty -echo; sleep 0.3; ${script}; sleep 0.3; printf 'typed: '; head -n 1`]), { pause: { everyBytes: 4 * 1024 * 1024, ms: 300 } });
    await eventually(() => (c.received > total && c.text.endsWith("typed: ") ? true : undefined), 60_000);
    // Caught up again: a keystroke's echo comes live.
    c.type("hello\r");
    await c.done;
    expect(c.seams).toEqual([]);
    expect(c.firstOffset).toBe(0);
    expect(c.text.replace(/\r\n/g, "\n")).toBe(`${expected}typed: hello\n`);
    expect(c.exit!.exitCode).toBe(0);
  });

  it("a client reading far slower than the program floods keeps its place past all that is kept: the program waits for it, as for a slow terminal", async () => {
    const { ptys } = await setup();
    // Half again past the 64 MiB kept. The client takes 1 MiB and rests 5 s: unheld, the program (~20-100 MB/s here) would write
    // it all meanwhile and the client's next byte would be gone (CURSOR_EXPIRED).
    const total = PTY_RETENTION_BYTES + PTY_RETENTION_BYTES / 2;
    const script = `stty -echo; sleep 0.3; head -c ${total} /dev/zero | tr '\\0' a; echo; echo done`;
    const c = new PtyClient(ptys, create(["sh", "-c", script]), { pause: { everyBytes: 1024 * 1024, ms: 5000, times: 1 } });
    await c.done;
    expect(c.error).toBeUndefined();
    expect(c.seams).toEqual([]);
    expect(c.firstOffset).toBe(0);
    expect(c.received).toBe(total + "\r\ndone\r\n".length);
    expect(c.exit!.exitCode).toBe(0);
  }, 120_000);

  it("a program whose only client stops reading waits once it is the pace's lag ahead of it, and goes on when that client goes away; killed meanwhile, it ends", async () => {
    const { d, ptys } = await setup();
    const total = PTY_PACED_LAG_BYTES + 16 * 1024 * 1024;
    const written = async (id: string): Promise<number> => Number((await ptys.getPty({ pty: id })).pty!.outputBytes);
    const closed = async (id: string): Promise<true | undefined> => ((await ptys.getPty({ pty: id })).pty!.state === PtyState.CLOSED ? true : undefined);
    /** A PTY flooding past the lag with one client that never reads, once it is held: the output stops growing short of the whole. */
    const held = async (): Promise<{ stuck: PtyClient; id: string }> => {
      const stuck = new PtyClient(d.client(PtyService), create(["sh", "-c", `sleep 0.3; head -c ${total} /dev/zero; echo; echo done`]), { read: false });
      await eventually(() => stuck.pty);
      const id = stuck.pty!.id;
      let last = -1;
      await eventually(async () => {
        const now = await written(id);
        const steady = now === last && now >= PTY_PACED_LAG_BYTES;
        last = now;
        return steady ? true : (await new Promise((r) => setTimeout(r, 500)), undefined);
      }, 60_000);
      expect(last).toBeLessThan(total);
      expect((await ptys.getPty({ pty: id })).pty!.state).toBe(PtyState.OPEN);
      return { stuck, id };
    };
    const left = await held();
    left.stuck.vanish();
    // Nothing paces it now: it writes the rest and ends.
    await eventually(() => closed(left.id), 60_000);
    expect(await written(left.id)).toBe(total + "\r\ndone\r\n".length);
    // Killed while its client still does not read: it ends all the same, what it wrote stored.
    const killed = await held();
    const before = await written(killed.id);
    await ptys.closePty({ pty: killed.id, grace: { seconds: 1n } });
    await eventually(() => closed(killed.id), 30_000);
    expect(await written(killed.id)).toBeGreaterThanOrEqual(before);
    killed.stuck.vanish();
  }, 120_000);

  it("a flood reaches a client in messages of many terminal reads each, every byte in order; an echo after it comes as typed", async () => {
    const { ptys } = await setup();
    const total = 8_000_000;
    const c = new PtyClient(ptys, create(["sh", "-c", `stty -echo; sleep 0.3; head -c ${total} /dev/zero; sleep 0.3; printf 'typed: '; head -n 1`]));
    await eventually(() => (c.received >= total + "typed: ".length ? true : undefined), 60_000);
    // A terminal read yields a few KiB: sent as they came, ~560 messages here; gathered, 40-120.
    expect(c.messages).toBeLessThan(total / 32_768);
    c.type("hello\r");
    await c.done;
    expect(c.seams).toEqual([]);
    expect(c.text).toBe(`${"\0".repeat(total)}typed: hello\r\n`);
  });

  it("small output sent as it is read and large output gathered, interleaved fast, reach two clients whole and in order", async () => {
    const { ptys } = await setup();
    // Each round: one byte (an echo's size, handed on at once when the client is idle), then 3,000 (gathered).
    const rounds = 400;
    const script = `stty -echo; sleep 0.3; i=0; while [ $i -lt ${rounds} ]; do printf '%d,' $((i % 10)); head -c 3000 /dev/zero | tr '\\0' y; i=$((i+1)); done`;
    const first = new PtyClient(ptys, create(["sh", "-c", script]));
    await eventually(() => first.pty);
    const second = new PtyClient(ptys, { kind: { case: "open", value: { target: { case: "pty", value: first.pty!.id }, fromOffset: 0n } } });
    await first.done;
    await second.done;
    const expected = Array.from({ length: rounds }, (_, i) => `${i % 10},${"y".repeat(3000)}`).join("");
    for (const c of [first, second]) {
      expect(c.seams).toEqual([]);
      expect(c.text).toBe(expected);
    }
  });

  it("a paste far larger than the terminal holds, sent while the program does not read, reaches it whole and in order", async () => {
    const { ptys } = await setup();
    const total = 1024 * 1024;
    const paste = Buffer.from(Array.from({ length: total }, (_, i) => (i * 7 + (i >> 12)) % 251));
    const c = new PtyClient(ptys, create(["sh", "-c", `stty raw -echo; echo ready; sleep 1; timeout --foreground 20 head -c ${total} | sha256sum`]));
    await eventually(() => (c.text.includes("ready") ? true : undefined));
    // The terminal takes ~64 KiB before the program reads: the rest waits in the daemon, in order.
    for (let at = 0; at < total; at += 16_384) c.send({ kind: { case: "input", value: paste.subarray(at, at + 16_384) } });
    await c.done;
    expect(c.text).toContain(createHash("sha256").update(paste).digest("hex"));
    expect(c.exit!.exitCode).toBe(0);
  });

  it("keystrokes, resizes and a detach packed into one HTTP/2 frame, and sent one by one, reach the program in the order sent", async () => {
    const { d, ptys } = await setup();
    const count = 600;
    const c = new PtyClient(ptys, create(["sh", "-c", `stty raw -echo; echo ready; dd bs=1 count=${count * 8} 2>/dev/null; echo; echo done`]));
    await eventually(() => (c.text.includes("ready") ? true : undefined));
    // A keystroke the daemon takes from the socket's read at once must not overtake an earlier message it queued.
    const typed = Array.from({ length: count * 2 }, (_, i) => String(i % 1000).padStart(3, "0") + ",");
    const messages = typed.map((keys, i): MessageInitShape<typeof AttachPtyRequestSchema>[] => [
      { kind: { case: "input", value: Buffer.from(keys) } },
      ...(i % 7 === 3 ? [{ kind: { case: "resize" as const, value: { cols: 80 + (i % 40), rows: 24 } } }] : []),
    ]);
    // The first half as a client that packs many messages into each frame would send them, then a detach and keys after it.
    const session = http2Connect("http://localhost", { createConnection: () => connect(d.socketPath) });
    const call = session.request({ ":method": "POST", ":path": "/tether.v1.PtyService/AttachPty", "content-type": "application/grpc", te: "trailers" });
    const afterDetach: MessageInitShape<typeof AttachPtyRequestSchema>[] = [{ kind: { case: "detach", value: true } }, { kind: { case: "input", value: Buffer.from("NOT TYPED") } }];
    const framed = [attachTo(c.pty!.id), ...messages.slice(0, count).flat(), ...afterDetach].map((m) => {
      const bytes = toBinary(AttachPtyRequestSchema, createMessage(AttachPtyRequestSchema, m));
      const head = Buffer.alloc(5);
      head.writeUInt32BE(bytes.byteLength, 1);
      return Buffer.concat([head, bytes]);
    });
    call.write(framed[0]);
    call.once("response", () => call.write(Buffer.concat(framed.slice(1))));
    call.on("data", () => undefined);
    // The second half one message at a time, from another client.
    await eventually(() => (c.text.length >= "ready\n".length + count * 4 ? true : undefined));
    for (const m of messages.slice(count).flat()) c.send(m);
    await c.done;
    session.destroy();
    // Raw mode: the program's newlines are not turned into CR LF.
    expect(c.text).toContain(`ready\n${typed.join("")}\ndone`);
  });

  it("a client pasting into a program that never reads is held back: the daemon's memory stays bounded and it goes on serving", async () => {
    const { d, ptys } = await setup();
    const c = new PtyClient(ptys, create(["sh", "-c", "stty raw -echo; echo ready; sleep 600"]));
    await eventually(() => (c.text.includes("ready") ? true : undefined));
    const before = vmHwmBytes(d.process.pid!);
    const chunk = Buffer.alloc(1024 * 1024, 0x61);
    for (let i = 0; i < 96; i++) c.send({ kind: { case: "input", value: chunk } });
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    // 96 MiB sent; the terminal takes ~64 KiB, the daemon holds ~1 MiB more, HTTP/2 flow control the rest.
    expect((await ptys.getPty({ pty: c.pty!.id })).pty!.state).toBe(PtyState.OPEN);
    expect(vmHwmBytes(d.process.pid!) - before).toBeLessThan(32 * 1024 * 1024);
    await ptys.signalPty({ pty: c.pty!.id, signal: "KILL" });
    await c.done;
    expect(c.exit!.signal).toBe("SIGKILL");
  });

  it("a script types with WritePty, unattached: the program reads it and attached clients see it; bad writes are refused", async () => {
    const { ptys } = await setup();
    const { pty } = await ptys.createPty({ spec: { workspace: "w", argv: ["sh"] } });
    const watcher = new PtyClient(ptys, attachTo(pty!.id, { readOnly: true }));
    await eventually(() => watcher.pty);
    expect((await ptys.writePty({ pty: pty!.id.slice(0, 4), text: "echo scripted-$((6*7))" })).pty!.id).toBe(pty!.id);
    await ptys.writePty({ pty: pty!.id, data: Buffer.from("\r") });
    await eventually(() => (watcher.text.includes("scripted-42\r\n") ? true : undefined));
    // A script is no client: the size stays.
    expect((await ptys.getPty({ pty: pty!.id })).pty!.size).toMatchObject({ cols: 80, rows: 24 });

    const empty = await failure(ptys.writePty({ pty: pty!.id }));
    expect([empty.code, empty.message]).toEqual([Code.InvalidArgument, "give the input to type: data, text or keys, at least one byte"]);
    const both = await failure(ptys.writePty({ pty: pty!.id, data: Buffer.from("a"), text: "b" }));
    expect([both.code, both.message]).toEqual([Code.InvalidArgument, "set data or text, not both"]);
    const big = await failure(ptys.writePty({ pty: pty!.id, data: Buffer.alloc(1024 * 1024 + 1, 0x61) }));
    expect([big.code, big.message]).toEqual([Code.InvalidArgument, "one write to a PTY holds at most 1048576 bytes: send more in several"]);

    await ptys.writePty({ pty: pty!.id, text: "exit 7\r" });
    await watcher.done;
    expect(watcher.exit!.exitCode).toBe(7);
    const closed = await failure(ptys.writePty({ pty: pty!.id, text: "late" }));
    expect([closed.code, closed.reason]).toEqual([Code.FailedPrecondition, ErrorReason.PTY_CLOSED]);
  });

  it("a program asking its terminal with no terminal attached is answered by the daemon, in order (device attributes, status, the cursor's place); with one attached, only by it", async () => {
    const { ptys } = await setup();
    const script = [
      `show() { printf '%s:%s\\n' "$1" "\${2//$'\\e'/<ESC>}"; }`,
      // The cursor's place, then the device attributes fish asks last: answered in that order.
      `printf 'hello\\nab\\e[6n\\e[c'; IFS= read -rs -d c -t 5 x; show first "$x"`,
      `IFS= read -r go; printf '\\e[5n'; IFS= read -rs -d n -t 1 y; show second "$y"`,
      // A query cut across two writes of the program (echo off: the first answer, typed at once, is not echoed between them).
      `IFS= read -r go; stty -echo; printf '\\e[>c\\e'; sleep 0.2; printf '[?6n'; IFS= read -rs -d R -t 5 z; show third "$z"`,
      "sleep 60",
    ].join("\n");
    const { pty } = await ptys.createPty({ spec: { workspace: "w", argv: ["bash", "-c", script] } });
    // A read-only watcher's terminal answers nothing (it cannot type): the daemon still answers.
    const watcher = new PtyClient(ptys, attachTo(pty!.id, { readOnly: true, size: { cols: 80, rows: 24 } }));
    await eventually(() => (watcher.text.includes("first:") ? true : undefined));
    expect(watcher.text).toContain("hello\r\nab\x1b[6n\x1b[cfirst:<ESC>[2;3R<ESC>[?1;2\r\n");
    // A client with a terminal is attached: its terminal answers (this one does not), and the daemon stays silent.
    const typing = new PtyClient(ptys, attachTo(pty!.id, { size: { cols: 80, rows: 24 } }));
    await eventually(() => typing.pty);
    typing.type("go\r");
    await eventually(() => (watcher.text.includes("second:") ? true : undefined));
    expect(watcher.text).toContain("go\r\n\x1b[5nsecond:\r\n");
    typing.send({ kind: { case: "detach", value: true } });
    await typing.done;
    await eventually(async () => ((await ptys.getPty({ pty: pty!.id })).pty!.attachedClients === 1 ? true : undefined));
    await ptys.writePty({ pty: pty!.id, text: "three\r" });
    await eventually(() => (watcher.text.includes("third:") ? true : undefined));
    expect(watcher.text).toContain("three\r\n\x1b[>c\x1b[?6nthird:<ESC>[>0;276;0c<ESC>[?6;1\r\n");
    await ptys.closePty({ pty: pty!.id });
  });

  it("WritePty types keys by name as tmux send-keys does, cursor keys in the form the program asked for (application cursor keys or not)", async () => {
    const { ptys } = await setup();
    // Prints every byte it gets in hex, in raw mode: what the keys typed, exactly.
    const hexEcho = (application: boolean) =>
      create([process.execPath, "-e", `process.stdin.setRawMode(true); process.stdout.write("${application ? "\\x1b[?1h" : ""}ready|"); process.stdin.on("data", (d) => process.stdout.write(d.toString("hex")))`]);
    const keys = ["Up", "x", "C-c", "echo hi", "Enter", "M-x", "F5", "S-Tab", "^D", "Home", "c-Left", "Enter"];
    const typed = async (application: boolean): Promise<string> => {
      const c = new PtyClient(ptys, hexEcho(application));
      await eventually(() => (c.text.includes("ready|") ? true : undefined));
      await ptys.writePty({ pty: c.pty!.id, keys });
      const hex = await eventually(() => {
        const after = c.text.slice(c.text.indexOf("ready|") + 6);
        return after.length >= 2 * 34 ? after : undefined;
      });
      await ptys.closePty({ pty: c.pty!.id });
      await c.done;
      return hex;
    };
    const rest = "78" + "03" + Buffer.from("echo hi").toString("hex") + "0d" + "1b78" + "1b5b31357e" + "1b5b5a" + "04";
    expect(await typed(false)).toBe("1b5b41" + rest + "1b5b48" + "1b5b313b3544" + "0d");
    expect(await typed(true)).toBe("1b4f41" + rest + "1b4f48" + "1b5b313b3544" + "0d");

    const { pty } = await ptys.createPty({ spec: { workspace: "w", argv: ["sh"] } });
    const both = await failure(ptys.writePty({ pty: pty!.id, keys: ["Enter"], text: "b" }));
    expect([both.code, both.message]).toEqual([Code.InvalidArgument, "set data, text or keys, one of them"]);
    const nothing = await failure(ptys.writePty({ pty: pty!.id, keys: [""] }));
    expect([nothing.code, nothing.message]).toEqual([Code.InvalidArgument, "give the input to type: data, text or keys, at least one byte"]);
  });

  it("ReadPty reads a PTY as a server stream, curl too: what is stored so far with no_follow, else the replay, live output and the exit", async () => {
    const { d, ptys } = await setup();
    const { pty } = await ptys.createPty({ spec: { workspace: "w", argv: ["sh"] } });
    const id = pty!.id;
    await ptys.writePty({ pty: id, text: "echo first-$((1+1))\r" });
    const read = async (request: { fromOffset?: bigint; noFollow?: boolean }) => {
      let text = "";
      let exit: number | undefined;
      let opened = false;
      for await (const r of ptys.readPty({ pty: id, ...request })) {
        if (r.kind.case === "opened") opened = true;
        if (r.kind.case === "output") text += Buffer.from(r.kind.value.data).toString();
        if (r.kind.case === "exit") exit = r.kind.value.exitCode;
      }
      return { opened, text, exit };
    };
    await eventually(async () => ((await read({ noFollow: true })).text.includes("first-2\r\n") ? true : undefined));
    const following = read({ fromOffset: 0n });
    await eventually(async () => ((await ptys.getPty({ pty: id })).pty!.attachedClients === 1 ? true : undefined));
    await ptys.writePty({ pty: id, text: "echo second-$((2+2)); exit 4\r" });
    const followed = await following;
    expect(followed.opened).toBe(true);
    expect(followed.text).toMatch(/first-2\r\n[\s\S]*second-4\r\n/);
    expect(followed.exit).toBe(4);
    // A closed PTY: its output and its exit, over the Connect protocol's JSON.
    const body = JSON.stringify({ pty: id, fromOffset: "0", noFollow: true });
    const envelope = Buffer.concat([Buffer.from([0, 0, 0, 0, body.length]), Buffer.from(body)]);
    const r = spawnSync("curl", ["-s", "--unix-socket", d.socketPath, "-H", "Content-Type: application/connect+json", "--data-binary", "@-", "http://localhost/tether.v1.PtyService/ReadPty"], { input: envelope });
    const text = r.stdout.toString("latin1");
    expect(text).toContain('"opened":{');
    expect(text).toContain('"exit":{"status":"EXEC_STATUS_EXITED","exitCode":4}');
    const data = [...text.matchAll(/"data":"([^"]*)"/g)].map((m) => Buffer.from(m[1]!, "base64").toString()).join("");
    expect(data).toBe(followed.text);
  });

  it("a terminal's program holds none of another terminal's descriptors, nor any of the daemon's: only 0-2, its terminal", async () => {
    const { ptys } = await setup();
    const first = (await ptys.createPty({ spec: { workspace: "w", argv: ["sleep", "60"] } })).pty!;
    // Read from /proc, of a program that opens nothing itself (a shell listing its own would catch its pipeline's pipes).
    const second = (await ptys.createPty({ spec: { workspace: "w", argv: ["sleep", "60"] } })).pty!;
    // Once it is sleep and has started: between its fork and its exec the child still holds what closes on
    // exec, and sleep opens its locale's files as it starts (LC_COLLATE), then closes them. Whatever stays is held.
    await eventually(() => (readlinkSync(`/proc/${second.pid}/exe`).endsWith("/sleep") ? true : undefined));
    const heldNow = (): string[] =>
      readdirSync(`/proc/${second.pid}/fd`)
        .map(Number)
        .sort((a, b) => a - b)
        .map((fd) => `${fd} ${readlinkSync(`/proc/${second.pid}/fd/${fd}`)}`);
    let held = heldNow();
    for (let tries = 0; tries < 100 && held.length > 3; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      held = heldNow();
    }
    const listing = held.join("\n");
    // Whole, so a failure shows what else it held.
    expect(held).toEqual([0, 1, 2].map((i) => expect.stringMatching(new RegExp(`^${i} /dev/pts/\\d+$`))));
    expect(listing).not.toContain("ptmx");
    for (const id of [first.id, second.id]) await ptys.closePty({ pty: id, grace: { seconds: 1n } });
  });

  it("ReadPty with redraw asks the program to draw its screen again (SIGWINCH to its foreground group), and follows the drawing", async () => {
    const { ptys } = await setup();
    const { pty } = await ptys.createPty({ spec: { workspace: "w", argv: ["sh", "-c", "trap 'echo drawn-again' WINCH; echo ready; while :; do sleep 0.1; done"] } });
    await eventually(async () => {
      let text = "";
      for await (const r of ptys.readPty({ pty: pty!.id, noFollow: true })) if (r.kind.case === "output") text += Buffer.from(r.kind.value.data).toString();
      return text.includes("ready") ? true : undefined;
    });
    const done = new AbortController();
    let text = "";
    try {
      for await (const r of ptys.readPty({ pty: pty!.id, redraw: true }, { signal: done.signal })) {
        if (r.kind.case === "output") text += Buffer.from(r.kind.value.data).toString();
        if (text.includes("drawn-again")) done.abort();
      }
    } catch (error) {
      if (!done.signal.aborted) throw error;
    }
    expect(text).toMatch(/ready\r\n[\s\S]*drawn-again\r\n/);
    await ptys.closePty({ pty: pty!.id });
  });

  it("scripts writing to a program that never reads wait their turn, the ninth is refused, and closing the PTY answers the waiting ones", async () => {
    const { ptys } = await setup();
    const c = new PtyClient(ptys, create(["sh", "-c", "stty raw -echo; echo ready; sleep 600"]));
    await eventually(() => (c.text.includes("ready") ? true : undefined));
    const id = c.pty!.id;
    // The terminal takes ~64 KiB; two writes of 1 MiB fill what may wait in the daemon (1 MiB) past its bound.
    const chunk = Buffer.alloc(1024 * 1024, 0x61);
    await ptys.writePty({ pty: id, data: chunk });
    await ptys.writePty({ pty: id, data: chunk });
    const settled: string[] = [];
    const waiting = Array.from({ length: 8 }, (_, i) =>
      ptys.writePty({ pty: id, text: "b" }).then(
        () => settled.push(`ok ${i}`),
        (e: unknown) => settled.push(`error ${i}: ${(e as Error).message}`),
      ),
    );
    // A call after them on the same connection: the daemon has taken the eight by its answer.
    await ptys.getPty({ pty: id });
    const ninth = await failure(ptys.writePty({ pty: id, text: "c" }));
    expect([ninth.code, ninth.reason]).toEqual([Code.ResourceExhausted, ErrorReason.INPUT_FULL]);
    expect(ninth.message).toContain(`pty ${id} already has 8 writes waiting: its program is not reading its input`);
    expect(settled).toEqual([]);
    await ptys.closePty({ pty: id });
    await Promise.all(waiting);
    expect(settled.sort()).toEqual(Array.from({ length: 8 }, (_, i) => `ok ${i}`));
    await c.done;
  });

  // Needs a small file system of its own: a tmpfs, which only root may mount (CI runs as root).
  it.skipIf(!CAN_FILL_A_DISK)("on a full disk the attached clients are ended with STORE_FAILED naming what was lost; the program runs on, and once there is room a client attaches again and types", () =>
    onSmallDisk(async (d) => {
      // Ballast fills the disk to ~4 MiB short of what tether keeps free; freeing it makes room for the rest of the flood.
      const ballast = join(d.home, "..", "ballast");
      writeFileSync(ballast, Buffer.alloc(12 * 1024 * 1024));
      const ws = (await d.client(WorkspaceService).createWorkspace({ displayName: "w" })).workspace!;
      const ptys = d.client(PtyService);
      const flood = 12_000_000;
      const a = new PtyClient(ptys, create(["sh", "-c", `sleep 0.3; head -c ${flood} /dev/zero | tr '\\0' a; touch flooded; exec cat`]));
      await a.done;
      const f = await failure(Promise.reject(a.error));
      expect([f.code, f.reason]).toEqual([Code.Unavailable, ErrorReason.STORE_FAILED]);
      expect(f.message).toMatch(/^pty p-\w+: \d+ bytes of output could not be stored \(.*ENOSPC.*\) and are lost; the program runs on: free disk space .*tether pty attach p-\w+/);
      expect(a.seams).toEqual([]);
      rmSync(ballast);
      await eventually(() => (existsSync(join(ws.root, "flooded")) ? true : undefined));
      expect((await ptys.getPty({ pty: a.pty!.id })).pty!.state).toBe(PtyState.OPEN);
      // Its replay, then live: offsets go on from what the journal holds, and an echo comes as typed.
      const b = new PtyClient(ptys, attachTo(a.pty!.id));
      await eventually(() => b.pty);
      b.type("hello\r");
      await eventually(() => (b.text.includes("hello\r\nhello\r\n") ? true : undefined));
      b.send({ kind: { case: "signal", value: "KILL" } });
      await b.done;
      expect([b.error, b.seams, b.exit?.signal]).toEqual([undefined, [], "SIGKILL"]);
      const closed = (await ptys.getPty({ pty: a.pty!.id })).pty!;
      expect(b.firstOffset + b.received).toBe(Number(closed.outputBytes));
      expect(closed.exit!.error).toMatch(/^\d+ bytes of output could not be stored \(.*ENOSPC.*\)$/);
      // What was stored reads back whole from the start; what was lost is not in it.
      const all = new PtyClient(ptys, attachTo(a.pty!.id, { fromOffset: 0n }));
      await all.done;
      expect([all.error, all.seams, all.firstOffset, all.received]).toEqual([undefined, [], 0, Number(closed.outputBytes)]);
      expect(all.received).toBeLessThan(flood);
      expect(all.text.endsWith("hello\r\nhello\r\n")).toBe(true);
    }),
    60_000,
  );

  it("a daemon with every descriptor it may open in use refuses a new terminal saying why, answers on, and opens one again once it can", async () => {
    const { d, ptys } = await setup();
    const info = d.client(DaemonService);
    await info.getDaemonInfo({});
    const pid = String(d.process.pid!);
    const open = readdirSync(`/proc/${pid}/fd`).length;
    // Its soft limit a dozen past what it holds (its connections already open): a few terminals take them.
    execFileSync("prlimit", ["--pid", pid, `--nofile=${open + 12}:`]);
    let refused: Awaited<ReturnType<typeof failure>> | undefined;
    const opened: string[] = [];
    for (let i = 0; i < 20 && refused === undefined; i++) {
      const made = await ptys.createPty({ spec: { workspace: "w", argv: ["sleep", "60"] } }).then((r) => r.pty!.id, (error: unknown) => error);
      if (typeof made === "string") opened.push(made);
      else refused = await failure(Promise.reject(made));
    }
    expect([refused?.code, refused?.reason]).toEqual([Code.ResourceExhausted, ErrorReason.OUT_OF_DESCRIPTORS]);
    expect(refused?.message).toContain("could not open a terminal (forkpty(3) failed.): the daemon has every file descriptor it may open in use");
    expect(opened.length).toBeGreaterThan(0);
    // Its memory is read from /proc, which it cannot open either: the last reading, not an internal error.
    expect((await info.getDaemonInfo({})).daemon!.memoryBytes).toBeGreaterThan(0n);
    execFileSync("prlimit", ["--pid", pid, `--nofile=${open + 1000}:`]);
    const again = (await ptys.createPty({ spec: { workspace: "w", argv: ["sleep", "60"] } })).pty!;
    expect(again.state).toBe(PtyState.OPEN);
    for (const id of [...opened, again.id]) await ptys.closePty({ pty: id, grace: { seconds: 1n } });
  });

  // Needs a pids cgroup of its own, which only root may make (CI runs as root); RLIMIT_NPROC holds no root.
  it.skipIf(!CAN_LIMIT_PROCESSES)("a daemon that can create no process (a full process limit) says so for a terminal, an exec and a run, answers on, and starts them again once it can", async () => {
    const { d, ptys } = await setup();
    const execs = d.client(ExecService);
    const sessions = d.client(SessionService);
    const file = writeTaskFile("tasks:\n  a: { cmd: echo ran }\n");
    const said = "no process could be created: a cgroup's (systemd's TasksMax=, a container's pids limit), or the system's (kernel.threads-max, kernel.pid_max) is reached: end some processes, or raise the limit and restart the daemon";
    await withoutNewProcesses(d.process.pid!, async () => {
      const terminal = await failure(ptys.createPty({ spec: { workspace: "w", argv: ["sleep", "60"] } }));
      expect([terminal.code, terminal.reason, terminal.message]).toEqual([Code.ResourceExhausted, ErrorReason.OUT_OF_PROCESSES, `could not open a terminal (forkpty(3) failed.): ${said}`]);
      const exec = (await execToEnd(execs, "w", ["echo", "hi"])).exit!;
      expect([exec.status, exec.exitCode, exec.error]).toEqual([ExecStatus.FAILED_TO_START, 127, `spawn echo EAGAIN: ${said}`]);
      const { session } = await sessions.startSession({ task: "a", taskFile: file });
      const done = await waitQuiet(sessions, session!.id);
      expect([done.exitCode, done.error]).toEqual([127, `task a failed: could not start: spawn /bin/sh EAGAIN: ${said}`]);
      expect((await d.client(DaemonService).getDaemonInfo({})).daemon!.pid).toBe(d.process.pid);
    });
    const again = (await ptys.createPty({ spec: { workspace: "w", argv: ["true"] } })).pty!;
    expect(again.state).toBe(PtyState.OPEN);
    expect((await execToEnd(execs, "w", ["echo", "hi"])).stdout).toBe("hi\n");
    const { session } = await sessions.startSession({ task: "a", taskFile: file });
    expect((await waitQuiet(sessions, session!.id)).exitCode).toBe(0);
  });

  it("a PTY its workspace stops (ws stop) says so in its exit, for its clients and later readers", async () => {
    const { d, ptys } = await setup();
    const created = (await ptys.createPty({ spec: { workspace: "w", argv: ["sleep", "60"] } })).pty!;
    expect((await d.client(WorkspaceService).stopWorkspace({ workspace: "w", grace: { seconds: 1n } })).stopped).toBe(1);
    const closed = (await ptys.getPty({ pty: created.id })).pty!;
    expect([closed.state, closed.exit!.status, closed.exit!.error]).toEqual([PtyState.CLOSED, ExecStatus.SIGNALLED, "stopped: its workspace w was stopped"]);
  });

  it("after kill -9 of the daemon an open PTY is recorded lost and its program stopped", async () => {
    const { d, ptys } = await setup();
    const created = (await ptys.createPty({ spec: { workspace: "w", argv: ["sleep", "60"] } })).pty!;
    await d.kill();
    await d.restart();
    const lost = (await ptys.getPty({ pty: created.id })).pty!;
    expect([lost.state, lost.exit!.status]).toEqual([PtyState.CLOSED, ExecStatus.LOST]);
    await eventually(() => (alive(created.pid) ? undefined : true));
    expect((await ptys.listPtys({ openOnly: true })).ptys).toHaveLength(0);
    expect((await ptys.listPtys({ workspace: "w" })).ptys.map((p) => p.id)).toEqual([created.id]);
  });
});
