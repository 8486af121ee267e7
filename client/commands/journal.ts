import { parseCommandLine } from "../command-line.js";
import { JournalService, type ReadJournalRequest } from "../../gen/tether/v1/journal_service_pb.js";
import { allPages } from "../all-pages.js";
import { bytesJson } from "../bytes-json.js";
import { CliError, unknownSubcommand } from "../cli-error.js";
import { readAllStdin } from "../stream-data.js";
import { connectToDaemon } from "../transport.js";
import { isoTime } from "../iso-time.js";
import type { ClientPaths } from "../paths.js";

export const JOURNAL_USAGE = `usage: tether journal ls [--json]
       tether journal append JOURNAL DATA...     append each DATA as one record (- reads stdin as one record)
       tether journal read JOURNAL [-f] [--from SEQ | --offset BYTES] [--json]`;

/** `tether journal ...`: the durable log under everything, usable directly from scripts. */
export async function journalCommand(args: string[], paths: ClientPaths): Promise<number> {
  const [sub, ...rest] = args;
  const { values, positionals } = parseCommandLine({
    args: rest,
    allowPositionals: true,
    options: {
      json: { type: "boolean", default: false },
      follow: { type: "boolean", short: "f", default: false },
      from: { type: "string" },
      offset: { type: "string" },
    },
  });
  switch (sub) {
    case "ls":
      return list(paths, values.json);
    case "append":
      if (positionals.length < 2) throw new CliError(JOURNAL_USAGE, 2);
      return append(paths, positionals[0] as string, positionals.slice(1));
    case "read": {
      if (positionals.length !== 1) throw new CliError(JOURNAL_USAGE, 2);
      if (values.from !== undefined && values.offset !== undefined) throw new CliError("pass --from or --offset, not both", 2);
      const cursor: ReadJournalRequest["cursor"] =
        values.from !== undefined
          ? { case: "sequence", value: parseCount("--from", values.from) }
          : values.offset !== undefined
            ? { case: "offset", value: parseCount("--offset", values.offset) }
            : { case: undefined };
      return read(paths, positionals[0] as string, cursor, values.follow, values.json);
    }
    default:
      throw unknownSubcommand("tether journal", sub, ["ls", "append", "read"], JOURNAL_USAGE);
  }
}

async function list(paths: ClientPaths, json: boolean): Promise<number> {
  const { client } = await connectToDaemon(paths);
  const journals = await allPages(async (pageToken) => {
    const page = await client.unary(JournalService.method.listJournals, { pageToken });
    return { items: page.journals, nextPageToken: page.nextPageToken };
  });
  const rows = journals.map((j) => ({ name: j.name.replace(/^journals\//, ""), records: j.nextSequence - j.firstSequence, bytes: j.nextOffset - j.firstOffset, first: j.firstSequence, next: j.nextSequence }));
  if (json) {
    process.stdout.write(`${JSON.stringify(rows.map((r) => ({ journal: r.name, records: Number(r.records), bytes: Number(r.bytes), first_sequence: Number(r.first), next_sequence: Number(r.next) })))}\n`);
    return 0;
  }
  const width = Math.max(7, ...rows.map((r) => r.name.length));
  process.stdout.write(`${"JOURNAL".padEnd(width)}  ${"RECORDS".padStart(9)}  ${"BYTES".padStart(12)}  FIRST\n`);
  for (const r of rows) process.stdout.write(`${r.name.padEnd(width)}  ${String(r.records).padStart(9)}  ${String(r.bytes).padStart(12)}  ${r.first}\n`);
  return 0;
}

async function append(paths: ClientPaths, journal: string, data: string[]): Promise<number> {
  const records = await Promise.all(data.map(async (d) => ({ data: d === "-" ? await readAllStdin({ instead: "append each piece as its own DATA argument" }) : new TextEncoder().encode(d) })));
  const { client } = await connectToDaemon(paths);
  const res = await client.unary(JournalService.method.appendRecords, { name: `journals/${journal}`, records });
  process.stdout.write(`${res.firstSequence === res.lastSequence ? res.firstSequence : `${res.firstSequence}-${res.lastSequence}`}\n`);
  return 0;
}

async function read(paths: ClientPaths, journal: string, cursor: ReadJournalRequest["cursor"], follow: boolean, json: boolean): Promise<number> {
  const { client } = await connectToDaemon(paths);
  const abort = new AbortController();
  process.once("SIGINT", () => abort.abort());
  try {
    for await (const msg of client.serverStream(JournalService.method.readJournal, { name: `journals/${journal}`, cursor, follow }, { signal: abort.signal })) {
      for (const r of msg.records) {
        if (json) {
          const createdAt = isoTime(r.createTime);
          process.stdout.write(`${JSON.stringify({ sequence: Number(r.sequence), offset: Number(r.offset), ...bytesJson("data", r.data), metadata: r.metadata, created_at: createdAt })}\n`);
        } else {
          process.stdout.write(r.data);
          if (r.data.at(-1) !== 0x0a) process.stdout.write("\n");
        }
      }
    }
  } catch (error) {
    if (abort.signal.aborted) return 130;
    throw error;
  }
  return 0;
}

function parseCount(flag: string, value: string): bigint {
  if (!/^\d+$/.test(value)) throw new CliError(`${flag} takes a whole number, got ${JSON.stringify(value)}`, 2);
  return BigInt(value);
}

