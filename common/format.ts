/** "3h12m", "4m05s", "12s": the uptime style of ps and docker. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (d > 0) return `${d}d${h}h`;
  if (h > 0) return `${h}h${String(m).padStart(2, "0")}m`;
  if (m > 0) return `${m}m${String(sec).padStart(2, "0")}s`;
  return `${sec}s`;
}

/** How long work took or has run: "0.4s", "9.9s" (tenths, cut as formatDuration cuts seconds) under ten seconds, most tasks of a graph; else as formatDuration. */
export function formatElapsed(ms: number): string {
  return ms < 10_000 ? `${(Math.floor(Math.max(0, ms) / 100) / 10).toFixed(1)}s` : formatDuration(ms);
}

/** A duration as a task file spells it, for messages: "250ms", "1.5s", "30s", "10m", "1h30m". */
export function formatMs(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000 && ms % 1000 !== 0) return `${ms / 1000}s`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  return m % 60 === 0 ? `${Math.floor(m / 60)}h` : `${Math.floor(m / 60)}h${m % 60}m`;
}

/**
 * Text for a line of a listing, its control characters (a newline, an
 * escape) written as escapes: a path or a command may hold any character,
 * and a terminal acts on them (a newline breaks a table's row; an escape
 * sequence can rewrite the screen). JSON output keeps the text as it is.
 */
export function escapeControls(text: string): string {
  return text.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => CONTROL_ESCAPES[c] ?? (c < "\x80" ? `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}` : `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`));
}

const CONTROL_ESCAPES: Readonly<Record<string, string>> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

/** Writes rows under a header, columns padded to their widest cell (see escapeControls); the last column is not padded. */
export function printTable(header: readonly string[], shownRows: readonly (readonly string[])[]): void {
  process.stdout.write(formatTable(header, shownRows));
}

/** printTable's text: the header and the rows in aligned columns, each line ending in a newline. */
export function formatTable(header: readonly string[], shownRows: readonly (readonly string[])[]): string {
  const rows = shownRows.map((row) => row.map(escapeControls));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [header, ...rows].map((row) => `${row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]!))).join("  ").trimEnd()}\n`).join("");
}

/** A size as ls -h and docker print it: "512 B", "4.0 KiB", "1.0 GiB". */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/**
 * An argv as a shell would take it back: words that need it single-quoted, as `set -x` and docker inspect print them
 * ("sh -c 'echo hi; exit 3'"); a word with a control character in bash's $'...' ($'a\nb'), a character past ASCII as
 * its UTF-8 bytes (\xc2\x85), which bash gives back in every locale (its \u needs a UTF-8 one).
 */
export function commandLine(argv: readonly string[]): string {
  return argv
    .map((word) => {
      if (/^[\w@%+=:,./-]+$/.test(word)) return word;
      if (/[\x00-\x1f\x7f-\x9f]/.test(word)) return `$'${word.replace(/[\\']/g, "\\$&").replace(/[\x00-\x1f\x7f-\x9f]/g, shellEscape)}'`;
      return `'${word.replaceAll("'", `'\\''`)}'`;
    })
    .join(" ");
}

/** A control character in bash's $'...': \n, \r, \t, else its UTF-8 bytes as \xHH. */
function shellEscape(c: string): string {
  return CONTROL_ESCAPES[c] ?? [...Buffer.from(c)].map((b) => `\\x${b.toString(16).padStart(2, "0")}`).join("");
}
