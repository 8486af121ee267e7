/**
 * The journals the daemon keeps for its resources, named as their readers
 * know them: a cursor error says "offset 100 is past the end of exec
 * e-4k2m9's output", not "... of journal e-4k2m9.out". The names are made
 * by outputJournal (execs.ts: `<exec>.out`; ptys.ts: `<pty>.pty`),
 * eventsJournal and logJournal (session-journal.ts: `<session>.events`,
 * `<session>.log`) and streamJournal (stream-records.ts:
 * `<session>.s.<stream>`); journal-names.test.ts holds them together.
 */
const SHAPES: readonly [RegExp, (id: string, rest: string) => string][] = [
  [/^(e-[a-z0-9]+)\.out$/, (id) => `exec ${id}'s output`],
  [/^(p-[a-z0-9]+)\.pty$/, (id) => `pty ${id}'s output`],
  [/^(s-[a-z0-9]+)\.log$/, (id) => `session ${id}'s output`],
  [/^(s-[a-z0-9]+)\.events$/, (id) => `session ${id}'s events`],
  [/^(s-[a-z0-9]+)\.s\.(.+)$/, (id, stream) => `stream ${stream} of session ${id}`],
];

/** A journal's name in a reader's words; "journal <name>" for one a client made (JournalService). */
export function describeJournal(name: string): string {
  for (const [shape, words] of SHAPES) {
    const match = shape.exec(name);
    if (match !== null) return words(match[1]!, match[2] ?? "");
  }
  return `journal ${name}`;
}
