import Database from "better-sqlite3";
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Journals } from "../../daemon/journal/journals.js";
import { MIGRATIONS } from "../../daemon/store/migrations.js";
import { openDatabase } from "../../daemon/store/database.js";
import { bytes, collect } from "../helpers/journals.js";

const never = new AbortController().signal;

describe("schema migrations", () => {
  it("upgrades a state dir written before journal ids were AUTOINCREMENT: its journals keep their ids and records, and a removed journal's id is never given again", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tether-migrate-"));
    const path = join(dir, "tether.db");
    const output = join(dir, "output");
    // A database as the daemon before journal ids were AUTOINCREMENT left it, with two journals of records.
    const before = MIGRATIONS.findIndex((sql) => sql.includes("journals_v2"));
    const old = new Database(path);
    for (const sql of MIGRATIONS.slice(0, before)) old.exec(sql);
    old.pragma(`user_version = ${before}`);
    const journal = old.prepare("INSERT INTO journals (id, name, first_seq, next_seq, first_offset, next_offset, max_bytes, max_age_ms, created_at) VALUES (?, ?, 1, 2, 0, 10, 0, 0, 0)");
    const record = old.prepare("INSERT INTO journal_records (key, offset, created_at, meta, data) VALUES ((? << 32) | 1, 0, 0, NULL, ?)");
    for (const [id, name] of [[1, "kept"], [2, "last"]] as const) {
      journal.run(id, name);
      record.run(id, Buffer.from(`${name} bytes`));
    }
    old.close();
    const db = openDatabase(path);
    expect(db.pragma("user_version", { simple: true })).toBe(MIGRATIONS.length);
    const journals = new Journals(db, output);
    const read = async (name: string) => (await collect(journals.read(name, { cursor: { kind: "start" }, follow: false, signal: never }))).map((r) => Buffer.from(r.data).toString());
    expect(await read("kept")).toEqual(["kept bytes"]);
    expect(await read("last")).toEqual(["last bytes"]);
    // The journal with the highest id goes; the next journal made gets a new id, so files of its own.
    await journals.remove(["last"], () => undefined);
    await journals.append("next", [{ data: bytes("next bytes") }], { dataInFiles: true });
    expect(readdirSync(output)).toEqual(["3.0"]);
    expect(await read("next")).toEqual(["next bytes"]);
    journals.close();
    db.close();
  });
});
