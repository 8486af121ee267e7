import type { MessageInitShape } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import type { ExecExit } from "../../gen/tether/v1/exec_pb.js";
import type { Pty } from "../../gen/tether/v1/pty_pb.js";
import type { AttachPtyRequestSchema, PtyOpened, PtyService } from "../../gen/tether/v1/pty_service_pb.js";
import { RequestQueue } from "./request-queue.js";

type Request = MessageInitShape<typeof AttachPtyRequestSchema>;

/** One client attached to a PTY through AttachPty: what it received, and a way to send. */
export class PtyClient {
  pty: Pty | undefined;
  opened: PtyOpened | undefined;
  private readonly chunks: Buffer[] = [];
  received = 0;
  /** Output messages received. */
  messages = 0;
  firstOffset = -1;
  /** Where a chunk did not continue exactly where the one before it ended: "expected then got". */
  readonly seams: string[] = [];
  exit: ExecExit | undefined;
  /** Why another client detached this one (its last message), if one did. */
  detachedBy: string | undefined;
  /** When the last output message and the exit came (performance.now()). */
  lastOutputAt = 0;
  exitAt = 0;
  error: unknown;
  readonly done: Promise<void>;
  private readonly requests = new RequestQueue<Request>();
  private readonly controller = new AbortController();

  /** read: false never reads past the first message; pause stops reading for `ms` after every `everyBytes` received (`times` times at most). */
  constructor(client: Client<typeof PtyService>, open: Request, options: { read?: boolean; pause?: { everyBytes: number; ms: number; times?: number } } = {}) {
    let pauseAt = options.pause?.everyBytes ?? Infinity;
    let pauses = options.pause?.times ?? Infinity;
    this.requests.push(open);
    const responses = client.attachPty(this.requests, { signal: this.controller.signal });
    this.done = (async () => {
      try {
        for await (const r of responses) {
          if (r.kind.case === "opened") [this.opened, this.pty] = [r.kind.value, r.kind.value.pty];
          else if (r.kind.case === "output") {
            const offset = Number(r.kind.value.offset);
            if (this.firstOffset < 0) this.firstOffset = offset;
            else if (offset !== this.firstOffset + this.received) this.seams.push(`${this.firstOffset + this.received} then ${offset}`);
            this.chunks.push(Buffer.from(r.kind.value.data));
            this.received += r.kind.value.data.byteLength;
            this.messages++;
            this.lastOutputAt = performance.now();
          } else if (r.kind.case === "exit") {
            this.exit = r.kind.value;
            this.exitAt = performance.now();
          } else if (r.kind.case === "detached") this.detachedBy = r.kind.value.reason;
          if (options.read === false) await new Promise(() => undefined);
          if (this.received >= pauseAt && pauses-- > 0) {
            pauseAt += options.pause!.everyBytes;
            await new Promise((resolve) => setTimeout(resolve, options.pause!.ms));
          }
        }
      } catch (error) {
        this.error = error;
      }
      this.endRequests();
    })();
  }

  get output(): Buffer {
    if (this.chunks.length > 1) this.chunks.splice(0, this.chunks.length, Buffer.concat(this.chunks));
    return this.chunks[0] ?? Buffer.alloc(0);
  }

  get text(): string {
    return this.output.toString("latin1");
  }

  send(request: Request): void {
    this.requests.push(request);
  }

  type(text: string): void {
    this.send({ kind: { case: "input", value: Buffer.from(text) } });
  }

  /** Goes away without detaching: the call is cancelled. */
  vanish(): void {
    this.controller.abort();
  }

  endRequests(): void {
    this.requests.end();
  }
}
