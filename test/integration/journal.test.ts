import { Code, ConnectError } from "@connectrpc/connect";
import { afterEach, describe, expect, it } from "vitest";
import { ErrorDetailSchema, ErrorReason } from "../../gen/tether/v1/errors_pb.js";
import type { JournalRecord } from "../../gen/tether/v1/journal_pb.js";
import { JournalService, type ReadJournalRequest } from "../../gen/tether/v1/journal_service_pb.js";
import { startDaemon, type TestDaemon } from "../helpers/daemon.js";

const running: TestDaemon[] = [];
afterEach(async () => {
  for (const d of running.splice(0)) await d.kill();
});

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const untext = (b: Uint8Array): string => new TextDecoder().decode(b);

/** Follows a journal through the socket until `until` (a sequence) is seen. */
async function follow(d: TestDaemon, cursor: ReadJournalRequest["cursor"], until: () => bigint | undefined): Promise<JournalRecord[]> {
  const seen: JournalRecord[] = [];
  const abort = new AbortController();
  try {
    for await (const msg of d.client(JournalService).readJournal({ name: "journals/seam", cursor, follow: true }, { signal: abort.signal })) {
      seen.push(...msg.records);
      const last = seen[seen.length - 1]?.sequence;
      const target = until();
      if (target !== undefined && last !== undefined && last >= target) break;
    }
  } finally {
    abort.abort();
  }
  return seen;
}

describe("the journal over the socket", () => {
  it("readers joining at random cursors while writers append see a dense, ordered sequence with no seam", async () => {
    const d = await startDaemon();
    running.push(d);
    const journals = d.client(JournalService);
    await journals.createJournal({ journalId: "seam" });
    const acked = new Map<bigint, string>();
    let finalSeq: bigint | undefined;
    const writers = Array.from({ length: 4 }, async (_, w) => {
      for (let i = 0; i < 150; i++) {
        const payloads = Array.from({ length: 1 + ((w + i) % 5) }, (_, k) => `w${w}-i${i}-k${k}`);
        const res = await journals.appendRecords({ name: "journals/seam", records: payloads.map((p) => ({ data: text(p) })) });
        payloads.forEach((p, k) => acked.set(res.firstSequence + BigInt(k), p));
      }
    });
    const readers = Array.from({ length: 16 }, async (_, r) => {
      await new Promise((resolve) => setTimeout(resolve, r * 15));
      const { journal } = await journals.getJournal({ name: "journals/seam" });
      const span = Number(journal!.nextSequence);
      const bySequence = r % 2 === 0;
      const cursor: ReadJournalRequest["cursor"] = bySequence
        ? { case: "sequence", value: BigInt(1 + Math.floor(Math.random() * span)) }
        : { case: "offset", value: BigInt(Math.floor(Math.random() * Number(journal!.nextOffset + 1n))) };
      const records = await follow(d, cursor, () => finalSeq);
      return { cursor, records };
    });
    await Promise.all(writers);
    finalSeq = (await journals.getJournal({ name: "journals/seam" })).journal!.nextSequence - 1n;
    // Nudge readers parked at the tail so they observe finalSeq.
    await journals.appendRecords({ name: "journals/seam", records: [{ data: text("end") }] });
    for (const { cursor, records } of await Promise.all(readers)) {
      expect(records.length).toBeGreaterThan(0);
      if (cursor.case === "sequence") expect(records[0]!.sequence).toBe(cursor.value);
      if (cursor.case === "offset") expect(records[0]!.offset).toBe(cursor.value);
      for (let i = 1; i < records.length; i++) {
        expect(records[i]!.sequence).toBe(records[i - 1]!.sequence + 1n);
        expect(records[i]!.offset).toBe(records[i - 1]!.offset + BigInt(records[i - 1]!.data.byteLength));
      }
      for (const rec of records.slice(1)) {
        if (acked.has(rec.sequence)) expect(untext(rec.data)).toBe(acked.get(rec.sequence));
      }
    }
  });

  it("every acknowledged append survives kill -9 of the daemon", async () => {
    const d = await startDaemon();
    running.push(d);
    const journals = d.client(JournalService);
    const acked = new Map<bigint, string>();
    await Promise.all(
      Array.from({ length: 40 }, async (_, c) => {
        for (let i = 0; i < 25; i++) {
          const payloads = [`c${c}-${i}-a`, `c${c}-${i}-b`];
          const res = await journals.appendRecords({ name: "journals/durable", records: payloads.map((p) => ({ data: text(p) })) });
          payloads.forEach((p, k) => acked.set(res.firstSequence + BigInt(k), p));
        }
      }),
    );
    // Appends still in flight when the daemon dies: not acknowledged, may or may not survive.
    const inFlight = Array.from({ length: 20 }, (_, i) =>
      journals.appendRecords({ name: "journals/durable", records: [{ data: text(`late-${i}`) }] }).catch(() => undefined),
    );
    await d.kill();
    await Promise.all(inFlight);
    await d.restart();
    const survivors = new Map<bigint, string>();
    for await (const msg of d.client(JournalService).readJournal({ name: "journals/durable" })) {
      for (const r of msg.records) survivors.set(r.sequence, untext(r.data));
    }
    expect(acked.size).toBe(2000);
    for (const [seq, payload] of acked) expect(survivors.get(seq)).toBe(payload);
    const seqs = [...survivors.keys()].sort((a, b) => (a < b ? -1 : 1));
    expect(seqs[0]).toBe(1n);
    expect(seqs[seqs.length - 1]).toBe(BigInt(seqs.length));
  });

  it("lists journals a page at a time with opaque tokens", async () => {
    const d = await startDaemon();
    running.push(d);
    const journals = d.client(JournalService);
    for (let i = 0; i < 7; i++) await journals.createJournal({ journalId: `list-${i}` });
    const names: string[] = [];
    let pageToken = "";
    do {
      const page = await journals.listJournals({ pageSize: 3, pageToken });
      expect(page.journals.length).toBeLessThanOrEqual(3);
      names.push(...page.journals.map((j) => j.name));
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    expect(names).toEqual(Array.from({ length: 7 }, (_, i) => `journals/list-${i}`));
    const bad = await journals.listJournals({ pageToken: "not a token!" }).catch((e: unknown) => ConnectError.from(e));
    expect((bad as ConnectError).code).toBe(Code.InvalidArgument);
  });

  it("an expired cursor names the earliest retained record", async () => {
    const d = await startDaemon();
    running.push(d);
    const journals = d.client(JournalService);
    await journals.createJournal({ journalId: "small", retention: { maxBytes: 10n } });
    for (let i = 0; i < 5; i++) await journals.appendRecords({ name: "journals/small", records: [{ data: text("12345") }] });
    const err = await (async () => {
      for await (const _ of journals.readJournal({ name: "journals/small", cursor: { case: "sequence", value: 1n } })) {
        // reading must fail before any record
      }
    })().catch((e: unknown) => ConnectError.from(e));
    expect((err as ConnectError).code).toBe(Code.OutOfRange);
    const detail = (err as ConnectError).findDetails(ErrorDetailSchema)[0];
    expect(detail?.reason).toBe(ErrorReason.CURSOR_EXPIRED);
    expect(detail?.metadata.earliest_sequence).toBe("4");
  });
});
