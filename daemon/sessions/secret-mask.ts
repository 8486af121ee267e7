/** Secrets shorter than this are not masked: a value of a byte or two would star out ordinary output. */
export const SECRET_MASK_MIN_BYTES = 4;

const STAR = 0x2a;

/**
 * Masks a session's secret input values in a run's output (one mask per
 * run: it remembers where each output's last read ended), as GitHub
 * Actions masks secrets in a job's log: each occurrence's bytes become `*`,
 * in place and as many, so the output's offsets stay what the process
 * wrote. A value cut across two reads of a pipe is masked from the cut on:
 * its first part was stored with the read before (a pipe's reads end where
 * the process's writes did, so a value written in one write, as `echo`
 * writes a line, is whole in one read).
 */
export class SecretMask {
  private readonly secrets: Buffer[];
  private readonly longest: number;
  /** Per output (1 stdout, 2 stderr): the last bytes of its previous chunk, to find a value cut across reads. */
  private readonly tails = new Map<1 | 2, Buffer>();

  constructor(values: readonly string[]) {
    this.secrets = [...new Set(values)].map((v) => Buffer.from(v)).filter((b) => b.byteLength >= SECRET_MASK_MIN_BYTES);
    this.longest = Math.max(0, ...this.secrets.map((s) => s.byteLength));
  }

  /** A run's own mask of `values` (its output's tails are its own), or undefined when none is long enough to mask. */
  static of(values: readonly string[]): SecretMask | undefined {
    const mask = new SecretMask(values);
    return mask.empty ? undefined : mask;
  }

  get empty(): boolean {
    return this.secrets.length === 0;
  }

  /** Masks `chunk` of output `fd` in place. */
  apply(fd: 1 | 2, chunk: Buffer): void {
    const tail = this.tails.get(fd);
    for (const secret of this.secrets) {
      if (tail !== undefined) {
        // The value's first k bytes ended the chunk before: the rest starts this one.
        for (let k = Math.min(secret.byteLength - 1, tail.byteLength); k >= 1; k--) {
          const rest = secret.byteLength - k;
          if (rest <= chunk.byteLength && tail.subarray(tail.byteLength - k).equals(secret.subarray(0, k)) && chunk.subarray(0, rest).equals(secret.subarray(k))) {
            chunk.fill(STAR, 0, rest);
            break;
          }
        }
      }
      for (let at = chunk.indexOf(secret); at !== -1; at = chunk.indexOf(secret, at + secret.byteLength)) chunk.fill(STAR, at, at + secret.byteLength);
    }
    const keep = Math.min(this.longest - 1, chunk.byteLength);
    this.tails.set(fd, Buffer.from(chunk.subarray(chunk.byteLength - keep)));
  }
}
