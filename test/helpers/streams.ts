import type { MessageInitShape } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import { LogStream, RunStatus } from "../../gen/tether/v1/session_pb.js";
import type { AttachSessionRequestSchema, AttachSessionResponse, SessionService } from "../../gen/tether/v1/session_service_pb.js";

type Request = MessageInitShape<typeof AttachSessionRequestSchema>;

/** A request side the test feeds by hand: push() sends, end() half-closes. */
export class RequestQueue implements AsyncIterable<Request> {
  private readonly queue: Request[] = [];
  private wake: (() => void) | undefined;
  private ended = false;

  push(request: Request): void {
    this.queue.push(request);
    this.wake?.();
  }

  end(): void {
    this.ended = true;
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Request> {
    for (;;) {
      while (this.queue.length > 0) yield this.queue.shift()!;
      if (this.ended) return;
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
  }
}

/** One attach event in a comparable form: its position and a line saying what it is. */
export interface SeenEvent {
  readonly position: number;
  readonly what: string;
}

export function describeAttachEvents(message: AttachSessionResponse): SeenEvent[] {
  if (message.kind.case !== "events") return [];
  return message.kind.value.events.map((e) => {
    const position = Number(e.position);
    switch (e.kind.case) {
      case "change":
        return { position, what: `change ${e.kind.value.run === undefined ? "session" : `${e.kind.value.run.task}#${e.kind.value.run.number} ${RunStatus[e.kind.value.run.status]}`} ${e.kind.value.reason}` };
      case "output":
        return { position, what: `output ${e.kind.value.task} ${e.kind.value.stream === LogStream.STDERR ? "stderr" : "stdout"} ${Buffer.from(e.kind.value.data).toString()}` };
      case "record":
        return { position, what: `record ${e.kind.value.stream}#${e.kind.value.sequence} ${Buffer.from(e.kind.value.data).toString()}` };
      default:
        return { position, what: "?" };
    }
  });
}

/** Attaches from `from` and collects every event until the session has ended. */
export async function attachUntilEnded(client: Client<typeof SessionService>, id: string, from = 0): Promise<SeenEvent[]> {
  const requests = new RequestQueue();
  requests.push({ kind: { case: "open", value: { session: `sessions/${id}`, fromPosition: BigInt(from) } } });
  const seen: SeenEvent[] = [];
  for await (const message of client.attachSession(requests)) {
    seen.push(...describeAttachEvents(message));
    if (message.kind.case === "events" && message.kind.value.ended) requests.end();
  }
  return seen;
}
