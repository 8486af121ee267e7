import type { OutputWriter } from "../process/output-writer.js";
import type { SecretMask } from "./secret-mask.js";

/**
 * How long bytes that may begin a secret value are held back when no more
 * output comes (a process that wrote a value in pieces writes the rest at
 * once): the most a prompt ending in a value's first letters shows late.
 */
export const SECRET_HOLD_MS = 500;

/**
 * A run's output on its way to the run's writer with the session's secret
 * values masked (SecretMask): what the mask holds back goes out with the
 * next chunk of its output, when the output ends, or SECRET_HOLD_MS after
 * the last chunk, whichever comes first.
 */
export class MaskedOutput {
  private readonly timers = new Map<1 | 2, NodeJS.Timeout>();

  constructor(
    private readonly mask: SecretMask,
    private readonly writer: OutputWriter,
  ) {}

  /** Takes a chunk the process wrote to `fd`, as OutputWriter.write does (its promise is the writer's). */
  write(fd: 1 | 2, chunk: Buffer): Promise<unknown> | undefined {
    this.stopTimer(fd);
    const now = this.mask.take(fd, chunk);
    if (this.mask.holds(fd)) this.timers.set(fd, setTimeout(() => void this.end(fd), SECRET_HOLD_MS));
    return now.byteLength === 0 ? undefined : this.writer.write(fd, now);
  }

  /** Output `fd` ended (or went quiet): what was held back goes out. */
  end(fd: 1 | 2): Promise<unknown> | undefined {
    this.stopTimer(fd);
    const held = this.mask.release(fd);
    return held === undefined ? undefined : this.writer.write(fd, held);
  }

  private stopTimer(fd: 1 | 2): void {
    clearTimeout(this.timers.get(fd));
    this.timers.delete(fd);
  }
}
