import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { OutputReader } from "../../daemon/process/output-reader.js";

const dirs: string[] = [];
const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) {
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {
      // Gone already.
    }
  }
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Runs `sh -c script` with its stdout a Unix socket, as the daemon's processes have it; resolves the daemon's end. */
async function processOnSocket(script: string): Promise<Socket> {
  const dir = mkdtempSync(join(tmpdir(), "tether-reader-"));
  dirs.push(dir);
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(join(dir, "s"), resolve));
  const accepted = new Promise<Socket>((resolve) => server.once("connection", resolve));
  const theirs = connect(join(dir, "s"));
  await new Promise((resolve) => theirs.once("connect", resolve));
  const ours = await accepted;
  server.close();
  children.push(spawn("sh", ["-c", script], { stdio: ["ignore", theirs, "ignore"], detached: true }));
  theirs.destroy();
  return ours;
}

/** Every number from 1 to N on its own line: any byte lost, repeated or out of place shows. */
const NUMBERS = 400_000;
const numbers = Array.from({ length: NUMBERS }, (_, i) => `${i + 1}\n`).join("");
/**
 * The numbers in a file: `cat` writes them in blocks larger than a pipe holds,
 * so the first read fills Node's buffer and the reader takes over however
 * busy the machine is (`seq` writes 4 KiB at a time: a reader keeping up read
 * small chunks, and on a loaded machine took over late or not at all).
 */
const numbersDir = mkdtempSync(join(tmpdir(), "tether-reader-numbers-"));
const numbersFile = join(numbersDir, "numbers");
writeFileSync(numbersFile, numbers);
afterAll(() => rmSync(numbersDir, { recursive: true, force: true }));

/** An onChunk that keeps every chunk as handed on and never holds the reading. */
function keep(views: Buffer[]): (chunk: Buffer) => undefined {
  return (chunk) => {
    views.push(chunk);
    return undefined;
  };
}

describe("OutputReader", () => {
  it("hands on every byte in order once a streaming socket is taken over, into regions where each read follows the last", async () => {
    const views: Buffer[] = [];
    const reader = new OutputReader(await processOnSocket(`cat ${numbersFile}`), keep(views), () => 0);
    await reader.done;
    expect(Buffer.concat(views).toString()).toBe(numbers);
    // Taken over: later chunks are views into regions, each in its region just after the one before.
    const inRegions = views.filter((v) => v.buffer.byteLength === 1024 * 1024);
    expect(inRegions.length).toBeGreaterThan(2);
    expect(inRegions.reduce((sum, v) => sum + v.byteLength, 0)).toBeGreaterThan(numbers.length / 2);
    const gaps = inRegions.filter((v, i) => i > 0 && v.buffer === inRegions[i - 1]!.buffer && v.byteOffset !== inRegions[i - 1]!.byteOffset + inRegions[i - 1]!.byteLength);
    expect(gaps).toEqual([]);
  });

  it("reads a streaming socket on a thread of its own: the process writes on while the daemon's thread is busy", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tether-reader-"));
    dirs.push(dir);
    const done = join(dir, "done");
    const views: Buffer[] = [];
    let doneDuringBlock: boolean | undefined;
    const reader = new OutputReader(await processOnSocket(`cat ${numbersFile}; touch ${done}`), (chunk) => {
      views.push(chunk);
      if (doneDuringBlock === undefined && chunk.buffer.byteLength === 1024 * 1024) {
        // Held up once taken over: read on the daemon's thread, `seq` would stop at the socket's buffers (a few hundred KiB).
        const until = Date.now() + 1000;
        while (Date.now() < until && !existsSync(done));
        doneDuringBlock = existsSync(done);
      }
      return undefined;
    }, () => 0);
    await reader.done;
    expect(Buffer.concat(views).toString()).toBe(numbers);
    expect(doneDuringBlock).toBe(true);
  });

  it("holds the reading while a chunk's promise is pending, and loses nothing to it", async () => {
    let received = 0;
    let held = 0;
    const out: Buffer[] = [];
    const reader = new OutputReader(await processOnSocket(`seq 1 ${NUMBERS}`), (chunk) => {
      out.push(Buffer.from(chunk));
      received += chunk.byteLength;
      // Every chunk from the first 256 KiB on is held (a loaded machine reads larger chunks: holding only every 256 KiB gave as few as 3).
      if (received < 256 * 1024) return undefined;
      held++;
      return new Promise((resolve) => setTimeout(resolve, 5));
    }, () => 0);
    await reader.done;
    // At least 3: the ~2.4 MB after the first 256 KiB come in reads of at most 1 MiB (a loaded machine's reads are that large).
    expect(held).toBeGreaterThanOrEqual(3);
    expect(Buffer.concat(out).toString()).toBe(numbers);
  });

  it("a quiet process's socket is never taken over", async () => {
    const views: Buffer[] = [];
    const reader = new OutputReader(await processOnSocket("echo one; sleep 0.05; echo two"), keep(views), () => 0);
    await reader.done;
    expect(Buffer.concat(views).toString()).toBe("one\ntwo\n");
    expect(views.some((v) => v.buffer.byteLength === 1024 * 1024)).toBe(false);
  });

  it("destroy() ends the reading of a socket whose writer never closes it, taken over or not", async () => {
    for (const script of ["sleep 30", `seq 1 ${NUMBERS}; sleep 30`]) {
      const views: Buffer[] = [];
      const reader = new OutputReader(await processOnSocket(script), keep(views), () => 0);
      const expected = script.includes("seq") ? numbers : "";
      while (Buffer.concat(views).byteLength < expected.length) await new Promise((resolve) => setTimeout(resolve, 10));
      reader.destroy();
      await reader.done;
      expect(Buffer.concat(views).toString()).toBe(expected);
    }
  });
});
