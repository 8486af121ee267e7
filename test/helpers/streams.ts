import type { MessageInitShape } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import { RequestQueue } from "./request-queue.js";
import { LogStream, RunStatus } from "../../gen/tether/v1/session_pb.js";
import { SessionService, type AttachSessionRequestSchema, type AttachSessionResponse } from "../../gen/tether/v1/session_service_pb.js";
import { StreamService } from "../../gen/tether/v1/stream_service_pb.js";
import type { TestDaemon } from "./daemon.js";
import { writeTaskFile } from "./sessions.js";

type Request = MessageInitShape<typeof AttachSessionRequestSchema>;

/** A session whose task `hold` sleeps with the streams `declared` (e.g. "inbox: input"), for clients to send to and read. */
export async function holdingSession(d: TestDaemon, declared: string) {
  const sessions = d.client(SessionService);
  const streams = d.client(StreamService);
  const file = writeTaskFile(`tasks:\n  hold: { streams: { ${declared} }, cmd: "sleep 300" }\n`);
  const { session } = await sessions.startSession({ task: "hold", taskFile: file });
  return { sessions, streams, session: session! };
}

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
