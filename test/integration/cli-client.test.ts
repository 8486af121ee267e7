import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GrpcClient, RpcError } from "../../client/grpc-client.js";
import { DaemonService } from "../../gen/tether/v1/daemon_service_pb.js";
import { ErrorReason } from "../../gen/tether/v1/errors_pb.js";
import { JournalService } from "../../gen/tether/v1/journal_service_pb.js";
import { startDaemon, tempDirs, type TestDaemon } from "../helpers/daemon.js";

let d: TestDaemon;
beforeAll(async () => {
  d = await startDaemon();
});
afterAll(async () => d.kill());

describe("the CLI's own gRPC client against the real daemon", () => {
  it("makes unary calls and reads server streams", async () => {
    const client = new GrpcClient(d.socketPath);
    const info = await client.unary(DaemonService.method.getDaemonInfo, {});
    expect(info.daemon?.pid).toBe(d.process.pid);
    const data = new Uint8Array(3 * 1024 * 1024).fill(5);
    await client.unary(JournalService.method.appendRecords, { name: "journals/c", records: [{ data }, { data }, { data: new Uint8Array([1]) }] });
    const seqs: bigint[] = [];
    let bytes = 0;
    for await (const msg of client.serverStream(JournalService.method.readJournal, { name: "journals/c" })) {
      for (const r of msg.records) {
        seqs.push(r.sequence);
        bytes += r.data.byteLength;
      }
    }
    expect(seqs).toEqual([1n, 2n, 3n]);
    expect(bytes).toBe(6 * 1024 * 1024 + 1);
    client.close();
  });

  it("surfaces the code, the message and tether's ErrorDetail", async () => {
    const client = new GrpcClient(d.socketPath);
    const error = await client.unary(JournalService.method.getJournal, { name: "journals/absent" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RpcError);
    expect((error as RpcError).code).toBe(5);
    expect((error as RpcError).message).toContain("journal absent does not exist");
    expect((error as RpcError).detail?.reason).toBe(ErrorReason.JOURNAL_NOT_FOUND);
    expect((error as RpcError).detail?.metadata).toEqual({ journal: "absent" });
    client.close();
  });

  it("cancels a follow stream with its signal", async () => {
    const client = new GrpcClient(d.socketPath);
    await client.unary(JournalService.method.appendRecords, { name: "journals/f", records: [{ data: new Uint8Array([1]) }] });
    const abort = new AbortController();
    const seen: bigint[] = [];
    const reading = (async () => {
      for await (const msg of client.serverStream(JournalService.method.readJournal, { name: "journals/f", follow: true }, { signal: abort.signal })) {
        for (const r of msg.records) seen.push(r.sequence);
        if (msg.caughtUp) abort.abort();
      }
    })().catch((e: unknown) => e);
    const ended = await reading;
    expect(seen).toEqual([1n]);
    expect((ended as RpcError).code).toBe(1);
    expect((await client.unary(DaemonService.method.getDaemonInfo, {})).daemon?.pid).toBe(d.process.pid);
    client.close();
  });

  it("says the connection failed, naming the socket, when no daemon answers", async () => {
    const client = new GrpcClient(tempDirs().socketPath);
    const error = await client.unary(DaemonService.method.getDaemonInfo, {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RpcError);
    expect((error as RpcError).code).toBe(14);
    expect((error as RpcError).message).toContain("tether daemon status");
  });
});
