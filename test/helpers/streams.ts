import type { MessageInitShape } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import { RequestQueue } from "./request-queue.js";
import { LogStream, RunStatus } from "../../gen/tether/v1/session_pb.js";
import type { AttachSessionRequestSchema, AttachSessionResponse, SessionService } from "../../gen/tether/v1/session_service_pb.js";

type Request = MessageInitShape<typeof AttachSessionRequestSchema>;

/** The request side of an AttachSession call, fed by hand. */
export class AttachRequests extends RequestQueue<Request> {}

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
  const requests = new AttachRequests();
  requests.push({ kind: { case: "open", value: { session: `sessions/${id}`, fromPosition: BigInt(from) } } });
  const seen: SeenEvent[] = [];
  for await (const message of client.attachSession(requests)) {
    seen.push(...describeAttachEvents(message));
    if (message.kind.case === "events" && message.kind.value.ended) requests.end();
  }
  return seen;
}
