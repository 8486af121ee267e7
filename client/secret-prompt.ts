import { CliError } from "./cli-error.js";

/**
 * Reads a line from the terminal without showing it, as passwd and sudo do:
 * the terminal in raw mode for the while, Backspace takes back a character,
 * Enter ends it, Ctrl-C gives up (exit 130, nothing started). Until
 * 2026-12-06 a secret's prompt reached into readline's private output hook,
 * which readline/promises does not have: asking for a secret failed.
 */
export function readSecret(question: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(question);
  stdin.setRawMode(true);
  stdin.resume();
  const bytes: number[] = [];
  return new Promise((resolve, reject) => {
    const done = (): void => {
      stdin.off("data", onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write("\n");
    };
    const onData = (chunk: Buffer): void => {
      for (const byte of chunk) {
        if (byte === 0x0d || byte === 0x0a || byte === 0x04) {
          done();
          resolve(Buffer.from(bytes).toString("utf8"));
          return;
        }
        if (byte === 0x03) {
          done();
          reject(new CliError("no value given: the session was not started", 130));
          return;
        }
        if (byte === 0x7f || byte === 0x08) {
          // A whole UTF-8 character: its continuation bytes, then its first.
          while (bytes.length > 0 && (bytes.at(-1)! & 0xc0) === 0x80) bytes.pop();
          bytes.pop();
        } else {
          bytes.push(byte);
        }
      }
    };
    stdin.on("data", onData);
  });
}
