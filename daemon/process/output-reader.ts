import { Socket, type OnReadOpts, type SocketConstructorOpts } from "node:net";
import { duplicate, descriptorOf } from "./native-descriptors.js";
import { COALESCED_RECORD_BYTES } from "./output-writer.js";

/** A read this large filled Node's whole read buffer: the process is streaming, and the reader takes over the socket. */
const STREAMING_READ_BYTES = 64 * 1024;
/** Once it streams, a socket is read into regions of this size, one after another (a record's most, so a record is one region's slice) ... */
const REGION_BYTES = COALESCED_RECORD_BYTES;
/** ... each read into the room left in the current region, and a new region once less than this is left. */
const REGION_MIN_ROOM_BYTES = 64 * 1024;

/** Hands each chunk on in order; a promise holds the reading until it settles (backpressure). */
export type OnChunk = (chunk: Buffer) => Promise<unknown> | undefined;

/**
 * Reads one of a process's output sockets (stdout or stderr) to its end.
 *
 * Node reads a socket 64 KiB at a time into a buffer of its own per read,
 * and a record of process output joins them into one of up to 1 MiB: a copy
 * of every byte, on the daemon's thread. A socket that streams (a read
 * filled Node's buffer) is taken over: a duplicate of its descriptor goes to
 * a new net.Socket that reads into memory of ours (its `onread` option), each
 * read just after the last in a region of REGION_BYTES, so consecutive
 * chunks lie side by side and the OutputWriter joins them by widening its
 * view (output-writer.ts), without a copy. Reading 1 GiB of a process's
 * output this way cost the daemon ~0.3 s less of its thread than reading and
 * joining. Quiet sockets (most processes write little) are never taken over:
 * that costs a descriptor and a socket.
 *
 * Without the native addon (native/descriptors.c), sockets are read the
 * usual way throughout.
 */
export class OutputReader {
  /** Resolves once the socket has ended or was destroyed, every chunk read handed on and settled. */
  readonly done: Promise<void>;
  private socket: Socket;
  private destroyed = false;
  private region: Buffer | undefined;
  private used = 0;

  constructor(
    socket: Socket,
    private readonly onChunk: OnChunk,
  ) {
    this.socket = socket;
    this.done = this.read();
  }

  /** Stops reading (the process's pipes stayed open too long after it exited): what was read is kept. */
  destroy(): void {
    this.destroyed = true;
    this.socket.destroy();
  }

  private async read(): Promise<void> {
    let copy: number | undefined;
    const left: Buffer[] = [];
    try {
      for await (const chunk of this.socket) {
        const pending = this.onChunk(chunk as Buffer);
        if (pending !== undefined) await pending;
        if ((chunk as Buffer).byteLength < STREAMING_READ_BYTES || this.destroyed) continue;
        copy = duplicate(descriptorOf(this.socket));
        if (copy === undefined) continue;
        // What the socket has read and not handed on comes first; leaving the loop destroys it.
        for (let more: Buffer | null; (more = this.socket.read() as Buffer | null) !== null; ) left.push(more);
        break;
      }
    } catch {
      // The socket was destroyed (see destroy): what was read is kept.
    }
    if (copy === undefined) return;
    for (const chunk of left) {
      const pending = this.onChunk(chunk);
      if (pending !== undefined) await pending;
    }
    await this.readInto(copy);
  }

  /** Reads descriptor `fd` into regions of ours until it ends. */
  private readInto(fd: number): Promise<void> {
    return new Promise((resolve) => {
      const onread: OnReadOpts = { buffer: () => this.room(), callback: (n, buffer) => this.took(n, buffer) };
      // net.Socket's documented `onread` option, which @types/node declares only for connect().
      const socket = new Socket({ fd, readable: true, writable: false, onread } as SocketConstructorOpts);
      this.socket = socket;
      socket.on("error", () => {});
      socket.once("end", () => resolve());
      socket.once("close", () => resolve());
      if (this.destroyed) socket.destroy();
    });
  }

  /** Where the next read goes: the room left in the current region, or a new region. */
  private room(): Buffer {
    if (this.region === undefined || this.region.byteLength - this.used < REGION_MIN_ROOM_BYTES) {
      this.region = Buffer.allocUnsafeSlow(REGION_BYTES);
      this.used = 0;
    }
    return this.region.subarray(this.used);
  }

  /** Hands on the `n` bytes just read into `buffer`; a promise back pauses the socket until it settles. */
  private took(n: number, buffer: Uint8Array): boolean {
    const chunk = Buffer.from(buffer.buffer, buffer.byteOffset, n);
    this.used += n;
    const pending = this.onChunk(chunk);
    if (pending === undefined) return true;
    this.socket.pause();
    void pending.then(
      () => this.socket.resume(),
      () => this.socket.resume(),
    );
    return true;
  }
}
