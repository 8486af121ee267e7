/** Secrets shorter than this are not masked: a value of a byte or two would star out ordinary output. */
export const SECRET_MASK_MIN_BYTES = 4;

const STAR = 0x2a;

/**
 * Masks a session's secret input values in a run's output (one mask per
 * run), as GitHub Actions masks secrets in a job's log: each occurrence's
 * bytes become `*`, as many, so the output's offsets stay what the process
 * wrote. A value may be cut across two reads of a pipe (a process that
 * writes it in pieces): the tail of a chunk that may begin a value is held
 * back (`take`) until the next chunk shows whether it does, or `release`
 * gives it up (the output ended, or went quiet: see MaskedOutput).
 */
export class SecretMask {
  private readonly secrets: Buffer[];
  /** Per output (1 stdout, 2 stderr): the bytes held back from its last chunk. */
  private readonly held = new Map<1 | 2, Buffer>();

  constructor(values: readonly string[]) {
    this.secrets = [...new Set(values)].map((v) => Buffer.from(v)).filter((b) => b.byteLength >= SECRET_MASK_MIN_BYTES);
  }

  /** A run's own mask of `values` (what it holds back is its own), or undefined when none is long enough to mask. */
  static of(values: readonly string[]): SecretMask | undefined {
    const mask = new SecretMask(values);
    return mask.empty ? undefined : mask;
  }

  get empty(): boolean {
    return this.secrets.length === 0;
  }

  /**
   * What of output `fd` to store now, masked: the bytes held back before,
   * then `chunk` (masked in place when nothing was held), but for a tail
   * that may begin a value, held back. May be empty.
   */
  take(fd: 1 | 2, chunk: Buffer): Buffer {
    const before = this.held.get(fd);
    this.held.delete(fd);
    const data = this.starOut(before === undefined ? chunk : Buffer.concat([before, chunk]));
    const open = this.openTail(data);
    if (open === 0) return data;
    // A copy: the chunk may be a view of a reading thread's region, which is used again.
    this.held.set(fd, Buffer.from(data.subarray(data.byteLength - open)));
    return data.subarray(0, data.byteLength - open);
  }

  /** `text` with each value in it starred, whole: a message of tether's own about the run (its command could not start), not output. */
  hideIn(text: string): string {
    return this.starOut(Buffer.from(text)).toString();
  }

  /** `data`, each value's bytes in it made `*`, in place. */
  private starOut(data: Buffer): Buffer {
    for (const secret of this.secrets) {
      for (let at = data.indexOf(secret); at !== -1; at = data.indexOf(secret, at + secret.byteLength)) data.fill(STAR, at, at + secret.byteLength);
    }
    return data;
  }

  /** Whether bytes of output `fd` are held back. */
  holds(fd: 1 | 2): boolean {
    return this.held.has(fd);
  }

  /** The bytes of output `fd` held back, given up: no value's rest came after them. */
  release(fd: 1 | 2): Buffer | undefined {
    const bytes = this.held.get(fd);
    this.held.delete(fd);
    return bytes;
  }

  /** The length of the longest tail of `data` that is a value's beginning (not the whole value: that is masked). */
  private openTail(data: Buffer): number {
    let longest = 0;
    for (const secret of this.secrets) {
      for (let k = Math.min(secret.byteLength - 1, data.byteLength); k > longest; k--) {
        // The first byte first: a long value (a certificate) is compared in full only where it could start.
        if (data[data.byteLength - k] === secret[0] && secret.compare(data, data.byteLength - k, data.byteLength, 0, k) === 0) {
          longest = k;
          break;
        }
      }
    }
    return longest;
  }
}
