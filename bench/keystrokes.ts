/**
 * Keystroke round trips (type one byte to `cat` in a terminal, wait for its
 * echo): raw node-pty, the relay floor, and through the daemon with a bare
 * HTTP/2 client and with the CLI's own client. Each round runs in a process
 * of its own (fresh-process.ts), as `tether pty` and a program of the
 * floor's would: in the benchmark's own process, whatever the benchmarks
 * before had left on its heap paused the loops at the garbage collector's
 * moments, not the daemon's (the CLI's client p99 2.2 ms in a full run
 * against 1.8 ms run alone, 2026-12-06).
 */
import * as pty from "node-pty";
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { connect as h2connect } from "node:http2";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { GrpcClient, grpcFrame } from "../client/grpc-client.js";
import { AttachPtyRequestSchema, PtyService } from "../gen/tether/v1/pty_service_pb.js";
import { ROOT } from "../test/helpers/daemon.js";
import { RequestQueue } from "../test/helpers/request-queue.js";
import { inFreshProcess } from "./fresh-process.js";


/** Keystroke round trips: `came` is called on each echo; `roundTrips` types, waits for the echo, and times it. */
class Echoes {
  private wake: (() => void) | undefined;

  readonly came = (): void => this.wake?.();

  /** `keystrokes` round trips in µs, in the order typed. */
  async roundTrips(keystrokes: number, type: () => void): Promise<number[]> {
    const times: number[] = [];
    for (let i = 0; i < keystrokes; i++) {
      const echoed = new Promise<void>((resolve) => (this.wake = resolve));
      const t = process.hrtime.bigint();
      type();
      await echoed;
      times.push(Number(process.hrtime.bigint() - t) / 1e3);
    }
    return times;
  }
}

/** The request that opens `cat` in a new PTY of `workspace`. */
function openCat(workspace: string): MessageInitShape<typeof AttachPtyRequestSchema> {
  return { kind: { case: "open", value: { target: { case: "create", value: { workspace, argv: ["cat"] } }, size: { cols: 80, rows: 24 } } } };
}

/** Raw node-pty: write one byte to `cat` and wait for its echo. */
async function raw(keystrokes: string): Promise<number[]> {
  const term = pty.spawn("cat", [], { cols: 80, rows: 24, encoding: null });
  const echo = new Echoes();
  term.onData(echo.came);
  await new Promise((r) => setTimeout(r, 200));
  const times = await echo.roundTrips(Number(keystrokes), () => term.write("x"));
  const exited = new Promise((resolve) => term.onExit(resolve));
  term.kill();
  await exited;
  return times;
}

/** The relay floor (floors/pty-relay-server.mjs): write one byte on an HTTP/2 stream and wait for cat's echo. */
async function relay(keystrokes: string): Promise<number[]> {
  const socketPath = join(mkdtempSync(join(tmpdir(), "tether-bench-relay-")), "s.sock");
  const server = spawn(process.execPath, [join(ROOT, "bench", "floors", "pty-relay-server.mjs"), socketPath], { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise((resolve) => server.stdout.once("data", resolve));
  const session = h2connect("http://localhost", { createConnection: () => connect(socketPath) });
  const stream = session.request({ ":method": "POST", ":path": "/" });
  const echo = new Echoes();
  stream.on("data", echo.came);
  await new Promise((r) => setTimeout(r, 200));
  const times = await echo.roundTrips(Number(keystrokes), () => stream.write("x"));
  session.destroy();
  // Gone before the next round starts (a Node process and its terminal: ~50 MB to give back).
  const exited = new Promise((resolve) => server.once("exit", resolve));
  server.kill();
  await exited;
  return times;
}

/**
 * The daemon's part alone: the same round trips through the daemon on
 * `socketPath` from a bare node:http2 client writing prebuilt gRPC frames, as
 * the relay floor's client writes bytes (every response after the first,
 * `opened`, is an echo).
 */
async function bare(socketPath: string, workspace: string, keystrokes: string): Promise<number[]> {
  const session = h2connect("http://localhost", { createConnection: () => connect(socketPath) });
  const stream = session.request({ ":method": "POST", ":path": "/tether.v1.PtyService/AttachPty", "content-type": "application/grpc", te: "trailers" });
  const echo = new Echoes();
  let opened = false;
  stream.on("data", () => (opened ? echo.came() : (opened = true)));
  stream.write(grpcFrame(AttachPtyRequestSchema, openCat(workspace)));
  await new Promise((r) => setTimeout(r, 300));
  const input = grpcFrame(AttachPtyRequestSchema, { kind: { case: "input", value: Buffer.from("x") } });
  const times = await echo.roundTrips(Number(keystrokes), () => stream.write(input));
  // Killed, the program's exit ends the call; the request side ends here.
  stream.end(grpcFrame(AttachPtyRequestSchema, { kind: { case: "signal", value: "KILL" } }));
  await new Promise((resolve) => stream.once("close", resolve).resume());
  session.destroy();
  return times;
}

/**
 * The same round trips through the daemon with the CLI's own client (what
 * `tether pty` types through), waiting for each echo as the raw loop does.
 */
async function cli(socketPath: string, workspace: string, keystrokes: string): Promise<number[]> {
  const client = new GrpcClient(socketPath);
  const requests = new RequestQueue<MessageInitShape<typeof AttachPtyRequestSchema>>();
  requests.push(openCat(workspace));
  const echo = new Echoes();
  const done = (async () => {
    for await (const response of client.bidiStream(PtyService.method.attachPty, requests)) if (response.kind.case === "output") echo.came();
  })();
  await new Promise((r) => setTimeout(r, 300));
  const times = await echo.roundTrips(Number(keystrokes), () => requests.push({ kind: { case: "input", value: Buffer.from("x") } }));
  requests.push({ kind: { case: "signal", value: "KILL" } });
  await done;
  client.close();
  return times;
}

export const KEYSTROKE_LOOPS = { raw, relay, bare, cli } satisfies Record<string, (...args: string[]) => Promise<number[]>>;

/** One round of `keystrokes` by loop `name` in a new process of its own: round trips in µs, in the order typed. */
export function typeInFreshProcess(name: keyof typeof KEYSTROKE_LOOPS, ...args: (string | number)[]): Promise<number[]> {
  return inFreshProcess(name, ...args) as Promise<number[]>;
}
