import { Socket, type SocketConstructorOpts } from "node:net";
import { duplicate, descriptorOf } from "./native-descriptors.js";
import { RegionReader, type OnChunk } from "./region-reader.js";

/** A read this large filled Node's whole read buffer: the process is streaming, and the reader takes over the socket. */
const STREAMING_READ_BYTES = 64 * 1024;

/**
 * Reads one of a process's output sockets (stdout or stderr) to its end.
 *
 * Node reads a socket 64 KiB at a time into a buffer of its own per read,
 * and a record of process output joins them into one of up to 1 MiB: a copy
 * of every byte, on the daemon's thread. A socket that streams (a read
 * filled Node's buffer) is taken over: a duplicate of its descriptor goes to
 * a new net.Socket read into regions of the daemon's memory (region-reader.ts),
 * whose consecutive chunks the OutputWriter joins without a copy. Reading 1 GiB of a process's
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
  private readonly socket: Socket;
  /** The socket's duplicate, read into regions once it streams. */
  private regions: RegionReader | undefined;
  private destroyed = false;

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
    this.regions?.destroy();
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
  private async readInto(fd: number): Promise<void> {
    // net.Socket's documented `onread` option, which @types/node declares only for connect().
    this.regions = new RegionReader((onread) => new Socket({ fd, readable: true, writable: false, onread } as SocketConstructorOpts), this.onChunk);
    if (this.destroyed) this.regions.destroy();
    await this.regions.done;
  }
}
