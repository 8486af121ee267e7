import type { MessageInitShape } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import { RequestQueue } from "./request-queue.js";
import { OutputStream, type ExecExit, type Exec } from "../../gen/tether/v1/exec_pb.js";
import type { AttachExecResponse, ExecRequestSchema, ExecResponse, ExecService } from "../../gen/tether/v1/exec_service_pb.js";

type Request = MessageInitShape<typeof ExecRequestSchema>;

/** The request side of an Exec call, fed by hand. */
export class ExecRequests extends RequestQueue<Request> {}

/** What an exec call or attach returned: its output per stream, chunk offsets, and its exit. */
export interface ExecResult {
  exec: Exec | undefined;
  stdout: string;
  stderr: string;
  /** [offset, stream_offset, length] of each chunk, in order. */
  chunks: [number, number, number][];
  /** Which stream each chunk was. */
  chunkStreams: ("stdout" | "stderr")[];
  exit: ExecExit | undefined;
}

export function emptyResult(): ExecResult {
  return { exec: undefined, stdout: "", stderr: "", chunks: [], chunkStreams: [], exit: undefined };
}

/** Folds one Exec or AttachExec response into a result. */
export function collect(result: ExecResult, response: ExecResponse | AttachExecResponse): void {
  const kind = response.kind as { case: string | undefined; value: unknown };
  if (kind.case === "started") result.exec = (kind.value as { exec: Exec }).exec;
  else if (kind.case === "exec") result.exec = kind.value as Exec;
  else if (kind.case === "exit") result.exit = kind.value as ExecExit;
  else if (kind.case === "output") {
    const out = kind.value as { stream: OutputStream; data: Uint8Array; offset: bigint; streamOffset: bigint };
    const text = Buffer.from(out.data).toString();
    if (out.stream === OutputStream.STDERR) result.stderr += text;
    else result.stdout += text;
    result.chunks.push([Number(out.offset), Number(out.streamOffset), out.data.byteLength]);
    result.chunkStreams.push(out.stream === OutputStream.STDERR ? "stderr" : "stdout");
  }
}

/** Runs a command to its end through the Exec call, sending `stdin` first (then closing it) when given. */
export async function execToEnd(client: Client<typeof ExecService>, workspace: string, argv: string[], options: { stdin?: string; cwd?: string; env?: Record<string, string>; outputMaxBytes?: number; timeout?: { seconds?: bigint; nanos?: number } } = {}): Promise<ExecResult> {
  const requests = new ExecRequests();
  requests.push({ kind: { case: "start", value: { workspace, argv, cwd: options.cwd ?? "", env: options.env ?? {}, stdin: options.stdin !== undefined, outputMaxBytes: BigInt(options.outputMaxBytes ?? 0), timeout: options.timeout } } });
  if (options.stdin !== undefined) {
    requests.push({ kind: { case: "stdin", value: Buffer.from(options.stdin) } });
    requests.push({ kind: { case: "closeStdin", value: true } });
  }
  requests.end();
  const result = emptyResult();
  for await (const response of client.exec(requests)) collect(result, response);
  return result;
}

/** Reads an exec through AttachExec from an offset (or its last `tailLines` lines) to its end. */
export async function attachToEnd(client: Client<typeof ExecService>, exec: string, fromOffset = 0, noFollow = false, tailLines?: number): Promise<ExecResult> {
  const result = emptyResult();
  for await (const response of client.attachExec({ exec, fromOffset: BigInt(fromOffset), noFollow, tailLines })) collect(result, response);
  return result;
}
