/**
 * The benchmarks' readers of bulk output, tether's clients and their floors
 * alike, each run in a process of its own started for the one read
 * (readInFreshProcess, fresh-process.ts), as a `tether`
 * command or a program of the floor's would be.
 *
 * Read in the benchmark's own process, they met the garbage collector in the
 * state the benchmarks before had left it: with V8's young generation grown
 * to its 16 MB, output read into Node's buffers (memory outside V8's heap,
 * counted against the old generation's room) started a full collection every
 * ~10 MB, 16-21 per 200 MB of a PTY's output on tether's side and 8-17 on
 * raw node-pty's, every round (--trace-gc, 2026-12-05), where a new process
 * ran none in most reads. The floors lost most: Node reading a pipe read 851
 * MB/s there against 1,400-1,600 in a process of its own, which flattered
 * tether's ratios. In a new process each, both sides read as they would on
 * their own.
 */
import * as grpc from "@grpc/grpc-js";
import * as pty from "node-pty";
import { spawn } from "node:child_process";
import { takeDataParts } from "../client/data-parts.js";
import { GrpcClient } from "../client/grpc-client.js";
import { JournalService } from "../gen/tether/v1/journal_service_pb.js";
import { PtyService, type AttachPtyRequestSchema } from "../gen/tether/v1/pty_service_pb.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { RequestQueue } from "../test/helpers/request-queue.js";
import { inFreshProcess } from "./fresh-process.js";

/** What one read gives: MB/s, and the bytes read where the caller checks them. */
export interface ReadResult {
  readonly mbs: number;
  readonly bytes: number;
}

/** MB/s of `bytes` read since `start` (process.hrtime.bigint()). */
function rate(bytes: number, start: bigint): ReadResult {
  return { mbs: bytes / 1e6 / (Number(process.hrtime.bigint() - start) / 1e9), bytes };
}

/** The floor for output throughput: Node reading `head -c BYTES /dev/zero`'s stdout directly. */
async function pipe(bytes: string): Promise<ReadResult> {
  const start = process.hrtime.bigint();
  let read = 0;
  await new Promise<void>((resolve) => {
    const child = spawn("head", ["-c", bytes, "/dev/zero"], { stdio: ["ignore", "pipe", "ignore"] });
    child.stdout.on("data", (chunk: Buffer) => (read += chunk.byteLength));
    child.on("close", () => resolve());
  });
  return rate(read, start);
}

/** Raw node-pty: `cat FILE` read to the end. */
function ptyRaw(file: string): Promise<ReadResult> {
  return new Promise((resolve) => {
    const start = process.hrtime.bigint();
    let read = 0;
    const term = pty.spawn("cat", [file], { cols: 80, rows: 24, encoding: null });
    term.onData((data) => (read += (data as unknown as Buffer).byteLength));
    term.onExit(() => resolve(rate(read, start)));
  });
}

/**
 * `cat FILE` in a new PTY of workspace WS through the daemon, read by the
 * CLI's own client (what `tether pty` reads with), the output counted and
 * dropped as the raw floor drops it; every chunk must continue at the offset
 * where the last ended.
 */
async function ptyCli(socketPath: string, workspace: string, file: string): Promise<ReadResult> {
  const client = new GrpcClient(socketPath);
  const requests = new RequestQueue<MessageInitShape<typeof AttachPtyRequestSchema>>();
  requests.push({ kind: { case: "open", value: { target: { case: "create", value: { workspace, argv: ["cat", file] } }, size: { cols: 80, rows: 24 } } } });
  const start = process.hrtime.bigint();
  let read = 0;
  let next: number | undefined;
  // As `tether pty` reads: a chunk that came in several HTTP/2 frames stays those pieces (data-parts.ts).
  for await (const response of client.bidiStream(PtyService.method.attachPty, requests, { dataParts: true })) {
    if (response.kind.case === "output") {
      const offset = Number(response.kind.value.offset);
      if (next !== undefined && offset !== next) throw new Error(`PTY output continued at ${offset}, not ${next}`);
      const bytes = takeDataParts(response.kind.value)?.reduce((sum, part) => sum + part.byteLength, 0) ?? response.kind.value.data.byteLength;
      next = offset + bytes;
      read += bytes;
    } else if (response.kind.case === "exit") requests.end();
  }
  client.close();
  return rate(read, start);
}

/** The streaming floor: @grpc/grpc-js reading MESSAGES 64 KiB messages from bench/floors/grpc-js-stream-server.mjs, 1 MiB windows. */
async function streamGrpcJs(socketPath: string, messages: string): Promise<ReadResult> {
  const client = new grpc.Client(`unix://${socketPath}`, grpc.credentials.createInsecure(), { "grpc-node.flow_control_window": 1 << 20, "grpc.max_receive_message_length": 16 << 20 });
  const start = process.hrtime.bigint();
  let read = 0;
  const stream = client.makeServerStreamRequest("/bench.Floor/Stream", (b: Buffer) => b, (b: Buffer) => b, Buffer.from(messages));
  for await (const m of stream) read += (m as Buffer).length;
  const result = rate(read, start);
  client.close();
  return result;
}

/** The CLI's client reading journal JOURNAL to its end with ReadJournal. */
async function streamCli(socketPath: string, journal: string): Promise<ReadResult> {
  const client = new GrpcClient(socketPath);
  const start = process.hrtime.bigint();
  let read = 0;
  for await (const msg of client.serverStream(JournalService.method.readJournal, { name: journal })) for (const r of msg.records) read += r.data.byteLength;
  const result = rate(read, start);
  client.close();
  return result;
}

export const READERS = { pipe, ptyRaw, ptyCli, streamGrpcJs, streamCli } satisfies Record<string, (...args: string[]) => Promise<ReadResult>>;
export type ReaderName = keyof typeof READERS;

/** One read by reader `name`, in a new process of its own (fresh-process.ts). */
export function readInFreshProcess(name: ReaderName, ...args: (string | number)[]): Promise<ReadResult> {
  return inFreshProcess(name, ...args) as Promise<ReadResult>;
}
