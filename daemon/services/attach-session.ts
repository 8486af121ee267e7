import { create, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import type { AttachEvent, AttachInput, AttachSessionRequest, AttachSessionResponse } from "../../gen/tether/v1/session_service_pb.js";
import { AttachEventSchema, AttachEventsSchema, AttachSessionResponseSchema } from "../../gen/tether/v1/session_service_pb.js";
import { invalidArgument } from "../errors.js";
import type { SessionItem, SessionReads } from "../sessions/session-reads.js";
import type { Sessions } from "../sessions/sessions.js";
import type { TimelineBatch, TimelineItem } from "../sessions/session-timeline.js";
import { holdingElements, withEncoding } from "./encoded-messages.js";
import { answersResponse, inputOutcome, type InputSettled } from "./input-answers.js";
import { chunkToProto, eventToProto, sessionToProto } from "./session-proto.js";
import { sessionField } from "./session-field.js";
import { putStreamRecord, streamRecordSize } from "./stream-record-wire.js";
import { DEFAULT_CONTENT_TYPE, type StreamInput, type StreamRecord } from "../sessions/stream-records.js";
import { putVarint, putVarintField, varintFieldSize, varintSize } from "../../common/varint.js";

/**
 * What one attached client's inputs may hold in the daemon between arriving
 * and their answers being written: past it, the daemon reads no further
 * message from that client until answers go out, and HTTP/2 flow control
 * holds the client. Counted as the data plus INPUT_OVERHEAD_BYTES per input
 * (its decoded message, its pending append and its answer).
 */
export const ATTACH_INPUT_PENDING_MAX_BYTES = 4 * 1024 * 1024;
const INPUT_OVERHEAD_BYTES = 256;

/** The most events an attached client may have unacknowledged (AttachOpen.window): the daemon keeps each one's position until its ack. */
export const ATTACH_WINDOW_MAX = 65_536;

/**
 * AttachSession: the first request opens; the first response confirms. Then
 * two things run at once: the session's events, read in its one order from
 * the store (pulled only as fast as the client takes them, so a client that
 * stops reading costs one page per journal and slows no one), and the
 * client's requests (input records, acknowledgements). Each input gets its
 * own answer, accepted or rejected; a bad input never ends the attach. The
 * inputs of one AttachInputs message are appended in order (they join one
 * group commit) and answered by one InputAnswers.
 */
export async function* attachSession(sessions: Sessions, reads: SessionReads, requests: AsyncIterable<AttachSessionRequest>, signal: AbortSignal): AsyncGenerator<AttachSessionResponse> {
  const incoming = requests[Symbol.asyncIterator]();
  const first = await incoming.next();
  if (first.done === true || first.value.kind.case !== "open") {
    throw invalidArgument("kind", "the first AttachSession message must be `open` (which session, from which position): send open first, then input and ack");
  }
  const open = first.value.kind.value;
  if (open.window > ATTACH_WINDOW_MAX) throw invalidArgument("window", `window is ${open.window} events, more than ${ATTACH_WINDOW_MAX}: ask for fewer (0: no acknowledgements, HTTP/2 flow control alone)`);
  const attachment = reads.attach(sessionField(open.session), { fromPosition: Number(open.fromPosition), streams: open.streams, withoutOutput: open.withoutOutput, signal });
  yield response({
    case: "opened",
    value: {
      session: sessionToProto(attachment.session, [], reads.streams(attachment.session.id)),
      fromPosition: open.fromPosition,
      livePosition: BigInt(attachment.livePosition),
      streams: [...attachment.streams],
    },
  });

  const sessionId = attachment.session.id;
  let answers: { response: AttachSessionResponse; bytes: number }[] = [];
  const unacked: number[] = [];
  // A notify while the loop is busy (suspended in a yield) is remembered, so the loop looks again before it sleeps.
  let woken = false;
  let wake: (() => void) | undefined;
  const notify = (): void => {
    woken = true;
    const w = wake;
    wake = undefined;
    w?.();
  };
  let protocolError: Error | undefined;
  let inFlight = 0;
  // Input bytes received and not yet answered to the client: past the bound, the client's messages wait in HTTP/2 flow control.
  let pendingBytes = 0;
  let room: (() => void) | undefined;
  let answered: Promise<void> = Promise.resolve();
  void (async () => {
    try {
      for (;;) {
        const next = await incoming.next();
        if (next.done === true) return;
        const kind = next.value.kind;
        if (kind.case === "input" || kind.case === "inputs") {
          const inputs = kind.case === "input" ? [kind.value] : kind.value.inputs;
          const bytes = inputs.reduce((sum, input) => sum + input.data.byteLength + INPUT_OVERHEAD_BYTES, 0);
          inFlight++;
          pendingBytes += bytes;
          // Answered in the order the messages came, whichever commit or duplicate check settles first.
          const outcomes = kind.case === "input" ? Promise.all([settleInput(sessions, sessionId, kind.value)]) : settleInputs(sessions, sessionId, inputs);
          answered = Promise.all([answered, outcomes]).then(([, settled]) => {
            inFlight--;
            const answer = kind.case === "input" ? response(inputOutcome(settled[0]!)) : answersResponse(settled);
            answers.push({ response: answer, bytes });
            notify();
          });
          if (pendingBytes > ATTACH_INPUT_PENDING_MAX_BYTES) await new Promise<void>((resolve) => (room = resolve));
        } else if (kind.case === "ack") {
          while (unacked.length > 0 && unacked[0]! <= Number(kind.value.position)) unacked.shift();
          notify();
        } else {
          protocolError = invalidArgument("kind", "AttachSession takes `open` once, as the first message: later messages carry input, inputs or ack");
          notify();
          return;
        }
      }
    } catch {
      // The client went away: the events side ends through the signal.
    }
  })();

  // One read of the events at a time; its result (or failure) wakes the loop like an answer does.
  const events = attachment.items[Symbol.asyncIterator]();
  let reading = false;
  let batch: IteratorResult<TimelineBatch<SessionItem>> | undefined;
  let readError: unknown;
  const read = (): void => {
    reading = true;
    events.next().then(
      (result) => {
        batch = result;
        reading = false;
        notify();
      },
      (error: unknown) => {
        readError = error ?? new Error("the session's events failed");
        notify();
      },
    );
  };
  let eventsDone = false;
  /** A batch read whose events the window has not let through yet. */
  let windowed: TimelineBatch<SessionItem> | undefined;
  for (;;) {
    if (answers.length > 0) {
      // Taken as a whole: shifting one at a time copies the array each time (thousands can be ready at once).
      const ready = answers;
      answers = [];
      for (const answer of ready) {
        yield answer.response;
        pendingBytes -= answer.bytes;
      }
      if (pendingBytes <= ATTACH_INPUT_PENDING_MAX_BYTES && room !== undefined) {
        const resume = room;
        room = undefined;
        resume();
      }
    }
    if (protocolError !== undefined) throw protocolError;
    if (readError !== undefined) throw readError;
    if (batch !== undefined) {
      const result = batch;
      batch = undefined;
      if (result.done === true) {
        eventsDone = true;
        yield response({ case: "events", value: { events: [], ended: true } });
      } else if (open.window === 0) {
        yield eventsResponse(result.value.items, result.value.caughtUp);
      } else {
        windowed = result.value;
      }
      continue;
    }
    // With a window: what of the batch read fits beyond the last acknowledged event, the rest once acks make room.
    if (windowed !== undefined && unacked.length < open.window) {
      const { items, caughtUp } = windowed;
      const sent = items.slice(0, open.window - unacked.length);
      for (const item of sent) unacked.push(item.position);
      windowed = sent.length === items.length ? undefined : { items: items.slice(sent.length), caughtUp };
      yield eventsResponse(sent, windowed === undefined && caughtUp);
      continue;
    }
    if (eventsDone) {
      if (inFlight === 0) return;
    } else if (!reading && windowed === undefined && (open.window === 0 || unacked.length < open.window)) {
      read();
    }
    if (!woken) await new Promise<void>((resolve) => (wake = resolve));
    woken = false;
  }
}

/** One input, stored (or a duplicate) or refused as SendInput would refuse it. */
async function settleInput(sessions: Sessions, sessionId: string, input: AttachInput): Promise<InputSettled> {
  try {
    return { input, sent: await sessions.send(sessionId, input.stream, streamInput(input)) };
  } catch (error) {
    return { input, error };
  }
}

function streamInput(input: AttachInput): StreamInput {
  return {
    data: input.data,
    contentType: input.contentType === "" ? DEFAULT_CONTENT_TYPE : input.contentType,
    correlationId: input.correlationId,
    idempotencyKey: input.idempotencyKey,
  };
}

/** The inputs of an AttachInputs, settled in its order. */
async function settleInputs(sessions: Sessions, sessionId: string, inputs: readonly AttachInput[]): Promise<InputSettled[]> {
  try {
    const settled = await sessions.sendMany(sessionId, inputs.map((input) => ({ stream: input.stream, input: streamInput(input) })));
    return settled.map((outcome, i) => (outcome.status === "fulfilled" ? { input: inputs[i]!, sent: outcome.value } : { input: inputs[i]!, error: outcome.reason }));
  } catch (error) {
    return inputs.map((input) => ({ input, error }));
  }
}

/**
 * A batch of events, each encoded once and shared by every attached client
 * as the items are (SessionReads decodes a record once): a hundred clients
 * of one busy session would otherwise encode every event a hundred times,
 * and the garbage of that dominated the daemon's memory.
 *
 * Each event is kept encoded as a whole `events` field (tag, length,
 * message); a batch is those bytes joined, which is exactly the encoding of
 * AttachEvents with its `events` (a repeated message field is its elements'
 * fields, in order), after its caught_up when set. The response is
 * assembled in one buffer and handed to the gRPC server as it is
 * (encoded-messages.ts). The message object says
 * the same through protobuf-es's unknown fields, written verbatim as a tag
 * followed by the data: a view of the same bytes less their first tag.
 * AttachSession is bidirectional, so it is only served as binary gRPC
 * (HTTP/1.1 answers it 505), never as JSON.
 */
const encodedEvents = new WeakMap<SessionItem, Buffer>();

export function eventsResponse(items: readonly TimelineItem<SessionItem>[], caughtUp: boolean): AttachSessionResponse {
  const parts = items.map(encodedEvent);
  // caught_up first, as protobuf-es writes a message's known fields before its unknown ones.
  const flag = caughtUp ? CAUGHT_UP_TRUE : EMPTY;
  const length = parts.reduce((sum, part) => sum + part.byteLength, flag.byteLength);
  const header = new BinaryWriter().tag(RESPONSE_EVENTS_FIELD, WireType.LengthDelimited).uint32(length).finish();
  const encoded = Buffer.concat([header, flag, ...parts], header.byteLength + length);
  const events = holdingElements(create(AttachEventsSchema, { ended: false, caughtUp }), EVENTS_FIELD, encoded.subarray(header.byteLength + flag.byteLength));
  return withEncoding(response({ case: "events", value: events }), [encoded]);
}

/** The event as one `events` field: tag, length, message. */
function encodedEvent({ position, item }: TimelineItem<SessionItem>): Buffer {
  let encoded = encodedEvents.get(item);
  if (encoded === undefined) {
    if (item.kind === "record") {
      encoded = encodedRecordEvent(position, item.record);
    } else {
      const bytes = new BinaryWriter().tag(EVENTS_FIELD, WireType.LengthDelimited).bytes(toBinary(AttachEventSchema, newAttachEvent(position, item))).finish();
      encoded = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    }
    encodedEvents.set(item, encoded);
  }
  return encoded;
}

/** A stream record's event, written by hand (stream-record-wire.ts): most of a busy attach's events are records, and protobuf-es took most of their cost. */
function encodedRecordEvent(position: number, record: StreamRecord): Buffer {
  const recordSize = streamRecordSize(record);
  const eventSize = varintFieldSize(EVENT_POSITION, position) + varintSize(EVENT_RECORD) + varintSize(recordSize) + recordSize;
  const encoded = Buffer.allocUnsafe(varintSize(EVENTS_TAG) + varintSize(eventSize) + eventSize);
  let at = putVarint(encoded, putVarint(encoded, 0, EVENTS_TAG), eventSize);
  at = putVarintField(encoded, at, EVENT_POSITION, position);
  at = putVarint(encoded, putVarint(encoded, at, EVENT_RECORD), recordSize);
  putStreamRecord(encoded, at, record);
  return encoded;
}

function newAttachEvent(position: number, item: Exclude<SessionItem, { kind: "record" }>): AttachEvent {
  const base = { position: BigInt(position) };
  switch (item.kind) {
    case "change":
      return create(AttachEventSchema, { ...base, kind: { case: "change", value: eventToProto(item.event) } });
    case "output":
      return create(AttachEventSchema, { ...base, kind: { case: "output", value: chunkToProto(item.chunk) } });
  }
}

/** AttachEvents.events; AttachSessionResponse.events; the tags of an `events` element and of AttachEvent's position and record. */
const EVENTS_FIELD = AttachEventsSchema.field.events.number;
const RESPONSE_EVENTS_FIELD = AttachSessionResponseSchema.field.events.number;
const EVENTS_TAG = EVENTS_FIELD * 8 + WireType.LengthDelimited;
const EVENT_POSITION = AttachEventSchema.field.position.number * 8 + WireType.Varint;
const EVENT_RECORD = AttachEventSchema.field.record.number * 8 + WireType.LengthDelimited;
/** AttachEvents.caught_up = true, encoded. */
const CAUGHT_UP_TRUE = Buffer.from([AttachEventsSchema.field.caughtUp.number * 8 + WireType.Varint, 1]);
const EMPTY = Buffer.alloc(0);

function response(kind: NonNullable<MessageInitShape<typeof AttachSessionResponseSchema>["kind"]>): AttachSessionResponse {
  return create(AttachSessionResponseSchema, { kind });
}
