import { BLOCK_ALIGNED, BLOCK_BYTES } from "../journal/direct-blocks.js";
import { loadAddon } from "./native-addon.js";
import { PeriodicChore } from "../periodic-chore.js";

/** Hands each chunk on in order; a promise holds the reading until it settles (backpressure). */
export type OnChunk = (chunk: Buffer) => Promise<unknown> | undefined;

/** native/reader.c (see there). */
interface NativeReader {
  pause(): void;
  resume(): void;
  stop(): void;
  finish(): void;
}
interface NativeReaders {
  open(fd: number, notifyBytes: number, phase: number, onData: (region: ArrayBuffer | null, offset: number, lengthOrErrno: number) => void): NativeReader;
  trimWhenQuiet(): boolean;
}

/**
 * The thread hands on what it read once this much has gathered, or sooner
 * when a read finds no more: at once with less than 16 KiB gathered (an
 * echoed keystroke), else after up to 1 ms more without anything to read
 * (native/reader.c, LINGER_BYTES). A 200 MB `cat` in a terminal went 0-10%
 * faster with 256 KiB than with 16 or 64 KiB; the linger took its hand-overs
 * from ~3,000-4,000 (half of them under 16 KiB: the terminal read dry
 * between two of `cat`'s writes) to ~1,000-1,400, and it to 80-99 MB/s
 * against 72-85 without (8 rounds each, in turn; raw node-pty 92-137).
 */
const NOTIFY_BYTES = 256 * 1024;

/**
 * How often the daemon offers the system back the memory of freed regions
 * (`trimWhenQuiet` in native/reader.c: only when no region was made since
 * the last offer) while readers are open and for TRIM_AFTER_MS after the
 * last one ended; else every TRIM_IDLE_INTERVAL_MS, for regions the
 * collector frees later (an idle daemon wakes for little else). Without it
 * a daemon that had streamed a GiB stayed ~30-60 MB larger for good, on top
 * of whatever it did next.
 */
const TRIM_INTERVAL_MS = 2000;
const TRIM_AFTER_MS = 30_000;
const TRIM_IDLE_INTERVAL_MS = 60_000;

let loaded: NativeReaders | null | undefined;
/** Readers open now, when the last one ended, and the frequent trims while they matter. */
let readersOpen = 0;
let lastEndedAt = 0;
let trims: PeriodicChore | undefined;

function load(): NativeReaders | null {
  if (loaded !== undefined) return loaded;
  loaded = loadAddon<NativeReaders>("tether_reader") ?? null;
  if (loaded !== null) {
    const addon = loaded;
    const chore = new PeriodicChore(TRIM_INTERVAL_MS, () => {
      addon.trimWhenQuiet();
      return readersOpen > 0 || Date.now() - lastEndedAt < TRIM_AFTER_MS;
    });
    trims = chore;
    setInterval(() => chore.running || addon.trimWhenQuiet(), TRIM_IDLE_INTERVAL_MS).unref();
  }
  return loaded;
}

/**
 * Reads a descriptor (a terminal's master side, a process's output socket)
 * on a thread of its own (native/reader.c). Read on the daemon's thread,
 * each read is a wake-up of its event loop and a call into JavaScript, and
 * its kernel work (copying the bytes out) is the daemon's thread's: a
 * terminal yields at most 4 KiB per read (~50,000 for a 200 MB `cat`), a
 * socket 64 KiB into Node's buffer. The thread reads on while there is
 * more and the daemon's thread takes whatever has gathered since it last
 * looked, as views of 1 MiB regions (consecutive views of one region lie
 * side by side, so the OutputWriter joins them without a copy; the thread
 * goes on into a new region while the daemon's thread has yet to take the
 * last of a full one, up to 4). A promise from `onChunk` pauses the thread
 * until it and every other one pending have settled (backpressure: one
 * chunk's commit may settle while another's pacing still holds).
 *
 * Regions are aligned to the data files' blocks, and the bytes keep their
 * phase within a block across regions: given where the first byte will lie
 * in its journal (`journalOffset`), a streaming process's bytes lie in
 * memory as they will in the file, and the data files write them from
 * there, past the page cache, without copying them (BLOCK_ALIGNED).
 */
export class ThreadReader {
  /** Resolves once the descriptor has ended (end of file, or a terminal's EIO once its program is gone) or the reader was stopped, every byte handed on. */
  readonly done: Promise<void>;
  private readonly native: NativeReader;

  private constructor(addon: NativeReaders, fd: number, journalOffset: number, onChunk: OnChunk) {
    let finish!: () => void;
    this.done = new Promise((resolve) => (finish = resolve));
    // Promises from onChunk not yet settled: the reading is held until the last of them settles (one view's commit may settle before another's pacing).
    let holds = 0;
    let ended = false;
    const release = (): void => {
      if (--holds > 0) return;
      this.native.resume();
      if (ended) finish();
    };
    this.native = addon.open(fd, NOTIFY_BYTES, journalOffset % BLOCK_BYTES, (region, offset, lengthOrErrno) => {
      if (region === null) {
        ended = true;
        if (holds === 0) finish();
        return;
      }
      BLOCK_ALIGNED.add(region);
      const pending = onChunk(Buffer.from(region, offset, lengthOrErrno));
      if (pending === undefined) return;
      if (holds++ === 0) this.native.pause();
      void pending.then(release, release);
    });
  }

  /**
   * A reader of `fd` (which it takes, and closes when done), or undefined
   * without the addon or a thread: the caller keeps `fd`. `journalOffset`:
   * where its first byte will lie in the journal, as far as the caller
   * knows (a wrong guess costs a copy, not a byte).
   */
  static open(fd: number, journalOffset: number, onChunk: OnChunk): ThreadReader | undefined {
    const addon = load();
    if (addon === null) return undefined;
    let reader: ThreadReader;
    try {
      reader = new ThreadReader(addon, fd, journalOffset, onChunk);
    } catch {
      return undefined;
    }
    readersOpen++;
    trims?.poke();
    void reader.done.then(() => {
      readersOpen--;
      lastEndedAt = Date.now();
    });
    return reader;
  }

  /** Reads again if a settled promise has not resumed it yet (a terminal read dry after its program exited). */
  resume(): void {
    this.native.resume();
  }

  /** Stops reading; what was read is still handed on, then `done` resolves. */
  stop(): void {
    this.native.stop();
  }

  /**
   * Reads on, held or not, to the descriptor's first empty read, then ends
   * as stop() does; resolves once every byte is handed on (`done`). After a
   * terminal's program has exited, that is every byte it wrote: a terminal's
   * read moves what the kernel still holds for it into its buffer before it
   * finds nothing (native/reader.c, finish).
   */
  finish(): Promise<void> {
    this.native.finish();
    return this.done;
  }
}

/** Whether `next` lies just after `part` in the same memory (consecutive reads into one region). */
export function beside(part: Uint8Array, next: Uint8Array): boolean {
  return part.buffer === next.buffer && part.byteOffset + part.byteLength === next.byteOffset;
}

/** `parts` (of `bytes` in all) as one buffer: a wider view when they lie side by side in one region, else a copy. */
export function joined(parts: readonly Uint8Array[], bytes: number): Buffer {
  for (let i = 1; i < parts.length; i++) if (!beside(parts[i - 1]!, parts[i]!)) return Buffer.concat(parts, bytes);
  const first = parts[0]!;
  return Buffer.from(first.buffer, first.byteOffset, bytes);
}
