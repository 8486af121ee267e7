import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Journals } from "../../daemon/journal/journals.js";
import type { JournalRecord, ReadBatch } from "../../daemon/journal/types.js";
import { openDatabase, type Db } from "../../daemon/store/database.js";
import { afterEach } from "vitest";

/** Journals on a real SQLite file in a temp dir, as the daemon opens it. */
export function openTempJournals(): { journals: Journals; db: Db; path: string } {
  const dir = mkdtempSync(join(tmpdir(), "tether-journal-"));
  const path = join(dir, "tether.db");
  const db = openDatabase(path);
  return { journals: new Journals(db, join(dir, "output")), db, path };
}

/** A factory of temp journals for a test file: every store it opens is closed after its test. */
export function journalsPerTest(): () => { journals: Journals; db: Db; path: string } {
  const opened: { journals: Journals; db: Db }[] = [];
  afterEach(() => {
    for (const o of opened.splice(0)) {
      o.journals.close();
      o.db.close();
    }
  });
  return () => {
    const o = openTempJournals();
    opened.push(o);
    return o;
  };
}

export function bytes(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** Reads batches until `count` records arrived (or the read ends), then stops the reader. */
export async function collect(batches: AsyncGenerator<ReadBatch>, count = Infinity): Promise<JournalRecord[]> {
  const out: JournalRecord[] = [];
  for await (const batch of batches) {
    out.push(...batch.records);
    if (out.length >= count) break;
  }
  return out;
}

/** Asserts records are dense and contiguous: sequences +1, offsets adding up. */
export function assertDense(records: readonly { seq: number; offset: number; data: Uint8Array }[]): void {
  for (let i = 1; i < records.length; i++) {
    const prev = records[i - 1]!;
    const cur = records[i]!;
    if (cur.seq !== prev.seq + 1) throw new Error(`sequence ${prev.seq} is followed by ${cur.seq}`);
    if (cur.offset !== prev.offset + prev.data.byteLength) throw new Error(`offset gap after sequence ${prev.seq}`);
  }
}
