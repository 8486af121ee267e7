import { create, toBinary } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, type ServiceImpl } from "@connectrpc/connect";
import { JournalRecordSchema, JournalSchema, type Journal } from "../../gen/tether/v1/journal_pb.js";
import { ReadJournalResponseSchema, type JournalService, type ReadJournalRequest, type ReadJournalResponse } from "../../gen/tether/v1/journal_service_pb.js";
import { TetherError } from "../errors.js";
import type { Journals } from "../journal/journals.js";
import type { Cursor, JournalInfo, JournalRecord } from "../journal/types.js";
import { dataLastParts, withEncoding } from "./encoded-messages.js";
import { pageSize, pageToken, nextPageToken } from "./paging.js";

const NAME_PREFIX = "journals/";

/** Handlers for tether.v1.JournalService: proto in, domain call, proto out. A call's signal aborts when the daemon stops too (see CallContexts); `daemonStopping` says why a follow ended. */
export function createJournalService(journals: Journals, daemonStopping: AbortSignal): ServiceImpl<typeof JournalService> {
  return {
    createJournal(req) {
      const retention = {
        maxBytes: Number(req.retention?.maxBytes ?? 0n),
        maxAgeMs: Number(req.retention?.maxAgeSeconds ?? 0n) * 1000,
      };
      return { journal: toProto(journals.create(req.journalId, retention)) };
    },
    getJournal(req) {
      return { journal: toProto(journals.get(journalId(req.name))) };
    },
    listJournals(req) {
      const size = pageSize(req.pageSize);
      const page = journals.list(pageToken(req.pageToken), size + 1);
      return {
        journals: page.slice(0, size).map(toProto),
        nextPageToken: nextPageToken(page, size, (j) => j.name),
      };
    },
    async appendRecords(req) {
      const result = await journals.append(
        journalId(req.name),
        req.records.map((r) => ({ data: r.data, meta: r.metadata })),
      );
      return {
        firstSequence: BigInt(result.firstSeq),
        lastSequence: BigInt(result.lastSeq),
        firstOffset: BigInt(result.firstOffset),
        nextOffset: BigInt(result.nextOffset),
      };
    },
    async *readJournal(req, ctx) {
      const batches = journals.read(journalId(req.name), {
        cursor: toCursor(req.cursor),
        follow: req.follow,
        waitForJournal: req.waitForJournal,
        signal: ctx.signal,
      });
      try {
        for await (const batch of batches) yield readResponse(batch.records, batch.caughtUp);
      } catch (error) {
        // A daemon shutdown ends follow streams with its own reason; a client
        // that went away gets nothing, so its abort reason needs no mapping.
        if (daemonStopping.aborted) throw daemonStopping.reason;
        throw error;
      }
    },
  };
}

function journalId(name: string): string {
  if (!name.startsWith(NAME_PREFIX)) {
    throw new TetherError(
      Code.InvalidArgument,
      "INVALID_NAME",
      `journal names look like "journals/{id}", got ${JSON.stringify(name)}`,
      { field: "name" },
    );
  }
  return name.slice(NAME_PREFIX.length);
}

function toCursor(cursor: ReadJournalRequest["cursor"]): Cursor {
  switch (cursor.case) {
    case undefined:
      return { kind: "start" };
    case "sequence":
      return { kind: "sequence", seq: Number(cursor.value) };
    case "offset":
      return { kind: "offset", offset: Number(cursor.value) };
  }
}

function toProto(info: JournalInfo): Journal {
  return create(JournalSchema, {
    name: NAME_PREFIX + info.name,
    firstSequence: BigInt(info.firstSeq),
    nextSequence: BigInt(info.nextSeq),
    firstOffset: BigInt(info.firstOffset),
    nextOffset: BigInt(info.nextOffset),
    retention: {
      maxBytes: BigInt(info.retention.maxBytes),
      maxAgeSeconds: BigInt(Math.round(info.retention.maxAgeMs / 1000)),
    },
    createTime: timestampFromMs(info.createdAt),
  });
}

/**
 * A ReadJournal response, with its binary encoding as parts: each record's
 * data goes on the wire from the buffer it was read into (encoded-messages.ts),
 * where protobuf-es would copy it into the record's encoding, then into the
 * response's. A record's other fields are encoded
 * by protobuf-es and its data field written after them: the order of fields
 * on the wire does not matter to any protobuf reader.
 */
export function readResponse(records: readonly JournalRecord[], caughtUp: boolean): ReadJournalResponse {
  const protos = records.map((r) =>
    create(JournalRecordSchema, {
      sequence: BigInt(r.seq),
      offset: BigInt(r.offset),
      metadata: r.meta === undefined ? {} : { ...r.meta },
      createTime: timestampFromMs(r.createdAt),
    }),
  );
  const parts = protos.flatMap((proto, i) => dataLastParts(RECORDS_FIELD, toBinary(JournalRecordSchema, proto), DATA_FIELD, records[i]!.data));
  const tail = caughtUp ? new BinaryWriter().tag(CAUGHT_UP_FIELD, WireType.Varint).bool(true).finish() : new Uint8Array(0);
  protos.forEach((proto, i) => (proto.data = records[i]!.data));
  return withEncoding(create(ReadJournalResponseSchema, { records: protos, caughtUp }), [...parts, tail]);
}

const RECORDS_FIELD = ReadJournalResponseSchema.field.records.number;
const CAUGHT_UP_FIELD = ReadJournalResponseSchema.field.caughtUp.number;
const DATA_FIELD = JournalRecordSchema.field.data.number;
