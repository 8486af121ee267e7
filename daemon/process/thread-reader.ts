import { loadAddon } from "./native-addon.js";
import type { OnChunk } from "./region-reader.js";

/** native/reader.c (see there). */
interface NativeReader {
  pause(): void;
  resume(): void;
  stop(): void;
}
interface NativeReaders {
  open(fd: number, onData: (region: ArrayBuffer | null, offset: number, lengthOrErrno: number) => void): NativeReader;
}

let loaded: NativeReaders | null | undefined;

/**
 * Reads a terminal's master side on a thread of its own (native/reader.c).
 * A terminal yields at most 4 KiB per read: read on the daemon's thread,
 * each read is a wake-up of its event loop and a call into JavaScript
 * (~50,000 for a 200 MB `cat`); the thread reads on while there is more
 * and the daemon's thread takes whatever has gathered since it last looked,
 * as one view of a 1 MiB region (consecutive views of one region lie side
 * by side, so the OutputWriter joins them without a copy). A promise from
 * `onChunk` pauses the thread until it settles (backpressure).
 */
export class ThreadReader {
  /** Resolves once the descriptor has ended (end of file, or a terminal's EIO once its program is gone) or the reader was stopped, every byte handed on. */
  readonly done: Promise<void>;
  private readonly native: NativeReader;

  private constructor(addon: NativeReaders, fd: number, onChunk: OnChunk) {
    let ended!: () => void;
    this.done = new Promise((resolve) => (ended = resolve));
    this.native = addon.open(fd, (region, offset, lengthOrErrno) => {
      if (region === null) {
        ended();
        return;
      }
      const pending = onChunk(Buffer.from(region, offset, lengthOrErrno));
      if (pending === undefined) return;
      this.native.pause();
      void pending.then(
        () => this.native.resume(),
        () => this.native.resume(),
      );
    });
  }

  /** A reader of `fd` (which it takes, and closes when done), or undefined without the addon or a thread: the caller keeps `fd`. */
  static open(fd: number, onChunk: OnChunk): ThreadReader | undefined {
    if (loaded === undefined) loaded = loadAddon<NativeReaders>("tether_reader") ?? null;
    if (loaded === null) return undefined;
    try {
      return new ThreadReader(loaded, fd, onChunk);
    } catch {
      return undefined;
    }
  }

  /** Reads again if a settled promise has not resumed it yet (a terminal read dry after its program exited). */
  resume(): void {
    this.native.resume();
  }

  /** Stops reading; what was read is still handed on, then `done` resolves. */
  stop(): void {
    this.native.stop();
  }
}
