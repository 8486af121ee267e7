import { mkdtempSync, rmSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { StdioListener } from "../../daemon/process/stdio-listener.js";

const opened: StdioListener[] = [];
const dirs: string[] = [];
afterEach(() => {
  opened.splice(0).forEach((l) => l.close());
  dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true }));
});

async function listener(): Promise<StdioListener> {
  const dir = mkdtempSync(join(tmpdir(), "tether-stdio-test-"));
  dirs.push(dir);
  const l = await StdioListener.open(dir);
  opened.push(l);
  return l;
}

function dial(path: string, first: string | Buffer): Socket {
  const socket = connect(path);
  socket.on("error", () => {});
  socket.write(first);
  return socket;
}

async function readAll(socket: Socket): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of socket) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString();
}

describe("the stdio listener", () => {
  it("hands each named connection to its process, with the bytes after the name intact", async () => {
    const l = await listener();
    const ends = l.expect(7, [1, 2]);
    const err = dial(l.path, "7:2\n");
    const out = dial(l.path, "7:1\nhello, header and output in one write");
    const [stdin, stdout, stderr] = await ends;
    expect(stdin).toBeUndefined();
    out.end(" and more");
    err.end("oops");
    expect(await readAll(stdout!)).toBe("hello, header and output in one write and more");
    expect(await readAll(stderr!)).toBe("oops");
  });

  it("closes connections that are not the starter's: an unknown process, a second fd 1, a line that is not a name", async () => {
    const l = await listener();
    const ends = l.expect(1, [1, 2]);
    const closed = (socket: Socket) => new Promise<void>((resolve) => socket.once("close", () => resolve()));
    const strangers = [dial(l.path, "9:1\n"), dial(l.path, "not a header\n"), dial(l.path, Buffer.alloc(64, "x"))];
    await Promise.all(strangers.map(closed));
    dial(l.path, "1:1\nfirst");
    await new Promise((r) => setTimeout(r, 50));
    const twice = dial(l.path, "1:1\nsecond");
    await closed(twice);
    dial(l.path, "1:2\n").end();
    const [, stdout] = await ends;
    stdout!.end();
    expect(await readAll(stdout!)).toBe("first");
  });

  it("a cancelled process's waiter fails and the ends that came are closed", async () => {
    const l = await listener();
    const ends = l.expect(3, [1, 2]);
    const out = dial(l.path, "3:1\n");
    await new Promise((r) => setTimeout(r, 50));
    l.cancel(3, new Error("could not start"));
    await expect(ends).rejects.toThrow("could not start");
    await new Promise<void>((resolve) => out.once("close", () => resolve()));
  });
});
