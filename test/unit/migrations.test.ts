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
  it("upgrades a state dir the previous schema wrote: its journals keep their ids and records, and a removed journal's id is never given again", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tether-migrate-"));
    const path = join(dir, "tether.db");
    const output = join(dir, "output");
    // A database as the daemon before the last migration left it, with two journals of output.
    const old = new Database(path);
    for (const sql of MIGRATIONS.slice(0, -1)) old.exec(sql);
    old.pragma(`user_version = ${MIGRATIONS.length - 1}`);
    old.close();
    let db = openDatabaseAt(path, MIGRATIONS.length - 1);
    let journals = new Journals(db, output);
    await journals.append("kept", [{ data: bytes("kept bytes") }], { dataInFiles: true });
    await journals.append("last", [{ data: bytes("last bytes") }], { dataInFiles: true });
    journals.close();
    db.close();

    db = openDatabase(path);
    expect(db.pragma("user_version", { simple: true })).toBe(MIGRATIONS.length);
    journals = new Journals(db, output);
    const read = async (name: string) => (await collect(journals.read(name, { cursor: { kind: "start" }, follow: false, signal: never }))).map((r) => Buffer.from(r.data).toString());
    expect(await read("kept")).toEqual(["kept bytes"]);
    expect(await read("last")).toEqual(["last bytes"]);
    // The journal with the highest id goes; the next journal made gets a new id, so files of its own.
    await journals.remove(["last"], () => undefined);
    await expect.poll(() => readdirSync(output).sort()).toEqual(["1.0"]);
    await journals.append("next", [{ data: bytes("next bytes") }], { dataInFiles: true });
    expect(readdirSync(output).sort()).toEqual(["1.0", "3.0"]);
    expect(await read("next")).toEqual(["next bytes"]);
    journals.close();
    db.close();
  });
});

/** Opens the database as a daemon of schema `version` would (its migrations only): the previous release. */
function openDatabaseAt(path: string, version: number): Database.Database {
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  expect(db.pragma("user_version", { simple: true })).toBe(version);
  return db;
}
