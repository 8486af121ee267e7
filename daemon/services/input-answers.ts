import { create, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { WireType } from "@bufbuild/protobuf/wire";
import { putVarint, putVarintField, varintFieldSize, varintSize } from "../../common/varint.js";
import type { AttachInput, AttachSessionResponse } from "../../gen/tether/v1/session_service_pb.js";
import { AttachSessionResponseSchema, InputAcceptedSchema, InputAnswerSchema, InputAnswersSchema } from "../../gen/tether/v1/session_service_pb.js";
import type { SendResult } from "../sessions/session-streams.js";
import { holdingElements, withEncoding } from "./encoded-messages.js";
import { toConnectError } from "./error-mapping.js";
import { streamRecordToProto } from "./session-proto.js";
import { putStreamRecord, streamRecordSize } from "./stream-record-wire.js";

/** What became of one input: stored (or a duplicate), or refused. */
export type InputSettled = { readonly input: AttachInput; readonly sent: SendResult } | { readonly input: AttachInput; readonly error: unknown };

export type InputOutcome = NonNullable<MessageInitShape<typeof InputAnswerSchema>["kind"]>;

/** The outcome as the messages say it: accepted with the stored record, or rejected with the code SendInput would have given. */
export function inputOutcome(settled: InputSettled): InputOutcome {
  const { input } = settled;
  if ("sent" in settled) {
    const { record, duplicate } = settled.sent;
    return { case: "accepted", value: { clientRef: input.clientRef, record: streamRecordToProto(record), duplicate } };
  }
  const error = toConnectError(settled.error);
  return { case: "rejected", value: { clientRef: input.clientRef, code: error.code, message: error.rawMessage } };
}

/**
 * The `answers` response to one AttachInputs, one answer per input in its
 * order, encoded by hand into one buffer: an accepted input's answer is a
 * few heads around its record (stream-record-wire.ts), where building each
 * answer's messages and encoding them with protobuf-es took more than
 * storing the input did. A refusal (rare) or a client_ref past 2^53 is
 * encoded by protobuf-es. The message object says the same through unknown
 * fields (encoded-messages.ts).
 */
export function answersResponse(settled: readonly InputSettled[]): AttachSessionResponse {
  const sizes = settled.map(answerSize);
  let bodySize = 0;
  for (const size of sizes) bodySize += varintSize(ANSWERS) + varintSize(size.answer) + size.answer;
  const encoded = Buffer.allocUnsafe(varintSize(RESPONSE_ANSWERS) + varintSize(bodySize) + bodySize);
  let at = putVarint(encoded, putVarint(encoded, 0, RESPONSE_ANSWERS), bodySize);
  const bodyStart = at;
  settled.forEach((one, i) => {
    const size = sizes[i]!;
    at = putVarint(encoded, putVarint(encoded, at, ANSWERS), size.answer);
    if (size.encoded !== undefined) {
      encoded.set(size.encoded, at);
      at += size.encoded.byteLength;
      return;
    }
    const { input, sent } = one as { input: AttachInput; sent: SendResult };
    at = putVarint(encoded, putVarint(encoded, at, ACCEPTED), size.accepted);
    at = putVarintField(encoded, at, CLIENT_REF, Number(input.clientRef));
    at = putVarint(encoded, putVarint(encoded, at, RECORD), size.record);
    at = putStreamRecord(encoded, at, sent.record);
    at = putVarintField(encoded, at, DUPLICATE, sent.duplicate ? 1 : 0);
  });
  const answers = holdingElements(create(InputAnswersSchema), ANSWERS_FIELD, encoded.subarray(bodyStart));
  return withEncoding(create(AttachSessionResponseSchema, { kind: { case: "answers", value: answers } }), [encoded]);
}

/** One answer's encoded size, and what it is made of: the accepted record's sizes, or its bytes from protobuf-es. */
function answerSize(settled: InputSettled): { answer: number; accepted: number; record: number; encoded?: Uint8Array } {
  if ("sent" in settled && settled.input.clientRef <= MAX_SAFE) {
    const record = streamRecordSize(settled.sent.record);
    const clientRef = Number(settled.input.clientRef);
    const accepted = varintFieldSize(CLIENT_REF, clientRef) + varintSize(RECORD) + varintSize(record) + record + varintFieldSize(DUPLICATE, settled.sent.duplicate ? 1 : 0);
    return { answer: varintSize(ACCEPTED) + varintSize(accepted) + accepted, accepted, record };
  }
  const encoded = toBinary(InputAnswerSchema, create(InputAnswerSchema, { kind: inputOutcome(settled) }));
  return { answer: encoded.byteLength, accepted: 0, record: 0, encoded };
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const ANSWERS_FIELD = InputAnswersSchema.field.answers.number;
const RESPONSE_ANSWERS = AttachSessionResponseSchema.field.answers.number * 8 + WireType.LengthDelimited;
const ANSWERS = ANSWERS_FIELD * 8 + WireType.LengthDelimited;
const ACCEPTED = InputAnswerSchema.field.accepted.number * 8 + WireType.LengthDelimited;
const CLIENT_REF = InputAcceptedSchema.field.clientRef.number * 8 + WireType.Varint;
const RECORD = InputAcceptedSchema.field.record.number * 8 + WireType.LengthDelimited;
const DUPLICATE = InputAcceptedSchema.field.duplicate.number * 8 + WireType.Varint;
