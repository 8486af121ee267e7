import { ExecStatus, OutputStream, type Exec, type ExecExit, type ExecOutput } from "../gen/tether/v1/exec_pb.js";
import { writeChunk } from "./write-chunk.js";

/** Writes an output chunk to stdout or stderr, as the command wrote it, stdout's shown to `seen` first; resolves to its size. */
export function writeOutput(output: ExecOutput, seen?: (bytes: Buffer) => void): Promise<number> {
  if (output.stream === OutputStream.STDERR) return writeChunk(process.stderr, output);
  return writeChunk(process.stdout, output, seen);
}

/** Says how an exec that did not exit as usual ended (on stderr); returns the exit code this CLI exits with. */
export function reportExit(exit: ExecExit, what: string): number {
  switch (exit.status) {
    case ExecStatus.FAILED_TO_START:
      process.stderr.write(`tether: cannot start ${what}: ${exit.error}\n`);
      return exit.exitCode;
    case ExecStatus.LOST:
      process.stderr.write(`tether: exec lost: ${exit.error}\n`);
      return 1;
    case ExecStatus.CANCELLED:
      process.stderr.write(`tether: ${exit.error}\n`);
      return 1;
    default:
      // It ran, but part of its output could not be stored.
      if (exit.error !== "") process.stderr.write(`tether: ${exit.error}\n`);
      return exit.exitCode;
  }
}

/** An ended exec in a line: "e-8f2k1 (web): exited 3", "signalled SIGTERM (143)", "failed to start: …", "lost: …", "cancelled: …". */
export function execEndLine(e: Exec): string {
  return `${e.id}${e.displayName === "" ? "" : ` (${e.displayName})`}: ${execEndWords(e)}`;
}

/** How an exec ended (an Exec, or the ExecExit its output ends with), in a few words: "exited 3", "signalled SIGTERM (143)". */
export function execEndWords(e: Pick<Exec, "status" | "exitCode" | "signal" | "error">): string {
  switch (e.status) {
    case ExecStatus.EXITED:
      return `exited ${e.exitCode}`;
    case ExecStatus.SIGNALLED:
      return `signalled ${e.signal} (${e.exitCode})`;
    case ExecStatus.FAILED_TO_START:
      return `failed to start: ${e.error}`;
    case ExecStatus.RUNNING:
      return "running";
    case ExecStatus.QUEUED:
      return "queued";
    case ExecStatus.CANCELLED:
      return `cancelled: ${e.error}`;
    default:
      return `lost: ${e.error}`;
  }
}

/** What a shell sees of an exec's end: its code (128 + signal when killed; 127 when it could not start), 1 when lost or taken out of its queue. */
export function execExitCode(e: Pick<Exec, "status" | "exitCode">): number {
  return e.status === ExecStatus.LOST || e.status === ExecStatus.CANCELLED ? 1 : e.exitCode;
}
