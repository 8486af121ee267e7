import { Socket } from "node:net";
import { duplicate, descriptorOf, growPipe } from "./native-descriptors.js";
import { ThreadReader, type OnChunk } from "./thread-reader.js";

/** A read this large filled Node's whole read buffer: the process is streaming, and the reader takes over the socket. */
const STREAMING_READ_BYTES = 64 * 1024;
/**
 * The capacity a streaming process's pipe is given (Linux's default is 64
 * KiB; 1 MiB is the most an unprivileged process may ask by default): the
 * process writes on while the reading thread is busy, and the thread takes
 * up to this much per read.
 */
const STREAMING_PIPE_BYTES = 1024 * 1024;
/**
 * How many pipes are grown at once, at most: a pipe's capacity counts
 * against its user's pipe quota (64 MiB by default,
 * /proc/sys/fs/pipe-user-pages-soft), and past it Linux gives every new pipe
 * of the user, the daemon's or not, a page or two.
 */
const GROWN_PIPES_MAX = 16;
let grownPipes = 0;

/**
 * Reads one of a process's output sockets (stdout or stderr) to its end.
 *
 * Node reads a socket on the daemon's thread, 64 KiB at a time into a
 * buffer of its own per read, and a record of process output joins them
 * into one of up to 1 MiB: the kernel's copy of every byte out of the
 * socket and a second copy, both on the daemon's thread. A socket that
 * streams (a read filled Node's buffer) is taken over: a duplicate of its
 * descriptor is read on a thread of its own into regions of the daemon's
 * memory (thread-reader.ts), whose consecutive chunks the OutputWriter
 * joins without a copy. Quiet sockets (most processes write little) are
 * never taken over: that costs a descriptor and a thread. A process's
 * output is a pipe (see DirectSpawner), grown when it streams.
 *
 * Without the native addons (native/descriptors.c, native/reader.c),
 * sockets are read the usual way throughout.
 */
export class OutputReader {
  /** Resolves once the socket has ended or was destroyed, every chunk read handed on and settled. */
  readonly done: Promise<void>;
  private readonly socket: Socket;
  /** Stops the reading of the socket's duplicate, once it streams. */
  private stopDuplicate: (() => void) | undefined;
  private destroyed = false;

  constructor(
    socket: Socket,
    private readonly onChunk: OnChunk,
    /** Where the next byte handed on will lie in its journal, as far as the caller knows (the reading thread lays its bytes out to match). */
    private readonly journalOffset: () => number,
  ) {
    this.socket = socket;
    this.done = this.read();
  }

  /** Stops reading (the process's pipes stayed open too long after it exited): what was read is kept. */
  destroy(): void {
    this.destroyed = true;
    this.socket.destroy();
    this.stopDuplicate?.();
  }

  private async read(): Promise<void> {
    let copy: number | undefined;
    let grown = false;
    const left: Buffer[] = [];
    try {
      for await (const chunk of this.socket) {
        const pending = this.onChunk(chunk as Buffer);
        if (pending !== undefined) await pending;
        if ((chunk as Buffer).byteLength < STREAMING_READ_BYTES || this.destroyed) continue;
        copy = duplicate(descriptorOf(this.socket));
        if (copy === undefined) continue;
        grown = grownPipes < GROWN_PIPES_MAX && growPipe(copy, STREAMING_PIPE_BYTES) !== undefined;
        if (grown) grownPipes++;
        // What the socket has read and not handed on comes first; leaving the loop destroys it.
        for (let more: Buffer | null; (more = this.socket.read() as Buffer | null) !== null; ) left.push(more);
        break;
      }
    } catch {
      // The socket was destroyed (see destroy): what was read is kept.
    }
    if (copy === undefined) return;
    try {
      for (const chunk of left) {
        const pending = this.onChunk(chunk);
        if (pending !== undefined) await pending;
      }
      await this.readInto(copy);
    } finally {
      if (grown) grownPipes--;
    }
  }

  /** Reads descriptor `fd` on a thread of its own until it ends; without a thread (none to be had), as Node reads a socket. */
  private async readInto(fd: number): Promise<void> {
    const thread = ThreadReader.open(fd, this.journalOffset(), this.onChunk);
    if (thread !== undefined) {
      this.stopDuplicate = () => thread.stop();
      if (this.destroyed) thread.stop();
      return thread.done;
    }
    const socket = new Socket({ fd, readable: true, writable: false });
    this.stopDuplicate = () => socket.destroy();
    if (this.destroyed) socket.destroy();
    try {
      for await (const chunk of socket) {
        const pending = this.onChunk(chunk as Buffer);
        if (pending !== undefined) await pending;
      }
    } catch {
      // Destroyed: what was read is kept.
    }
  }
}
