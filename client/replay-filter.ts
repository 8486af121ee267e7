import { takeDataParts } from "./data-parts.js";

/** A sequence not ended within this many bytes is let through as it is (a terminal would have given up on it too). */
const SEQUENCE_MAX_BYTES = 64 * 1024;
const ESC = 0x1b;
const INCOMPLETE = -1;

/**
 * Drops from a PTY's replayed output what must not happen twice: the
 * program's terminal queries, and its commands with effects beyond the
 * screen. A replay is the program's past output, byte for byte, and with it
 * the questions the program once asked its terminal (vim asks for the
 * terminal's version and the cursor position as it starts): written to a
 * terminal they are asked again, and its answers (`ESC [ > 84 ; 0 ; 0 c`,
 * `ESC [ 2 ; 1 R`) come back on the client's stdin and are typed into the
 * program, long after it stopped waiting for them (a shell shows them as a
 * garbled command line). Likewise a clipboard write (OSC 52) replayed would
 * put stale text on the attaching user's clipboard, a notification (OSC 9,
 * 99, 777) would pop up again. tmux never forwards a program's output, so it
 * never has this; tether replays, so it removes: device attributes (`CSI c`,
 * `CSI > c`, `CSI = c`, `ESC Z`), status reports (`CSI n`, `CSI ? n`), mode
 * reports (`CSI $ p`), XTVERSION (`CSI > q`), the keyboard protocol's query
 * (`CSI ? u`), window reports (`CSI 11..21 t`), DECREQTPARM (`CSI x`),
 * XTSMGRAPHICS (`CSI ? S`), XTQMODKEYS (`CSI ? m`), DECRQPSR and DECRQTSR
 * (`CSI $ w`, `CSI $ u`), OSC queries (a parameter that is `?`: colours, the
 * clipboard), OSC 52, 9, 99 and 777, and DCS requests (`+q`, `$q`).
 * Everything else passes as it is, and so does all live output: a program
 * asking now gets its answer.
 */
export class ReplayFilter {
  /** An unfinished sequence at the end of the last replayed chunk, joined to the next. */
  private pending: Buffer | undefined;

  /**
   * `liveOffset`: where the replay ends and live output begins
   * (PtyOpened.live_offset); Infinity for a viewer, which types nothing
   * (`tether exec attach`): what its terminal answers would be typed into
   * the shell after it.
   */
  constructor(private readonly liveOffset: number) {}

  /** The chunk to write for an output chunk: its replayed bytes without queries, live ones as they are. */
  chunk(output: { readonly offset: bigint; readonly data: Uint8Array }): { readonly data: Uint8Array } {
    const offset = Number(output.offset);
    const pending = this.pending;
    if (offset >= this.liveOffset && pending === undefined) return output;
    const parts = takeDataParts(output) ?? [Buffer.from(output.data.buffer, output.data.byteOffset, output.data.byteLength)];
    const data = joined(pending === undefined ? parts : [pending, ...parts]);
    this.pending = undefined;
    const start = pending?.byteLength ?? 0;
    const replayed = Math.max(0, Math.min(data.byteLength, start + this.liveOffset - offset));
    const kept = this.strip(data.subarray(0, replayed));
    // A sequence begun in the replay and ended live goes out whole, as the program wrote it.
    if (this.pending !== undefined && replayed < data.byteLength) {
      kept.push(this.pending);
      this.pending = undefined;
    }
    kept.push(data.subarray(replayed));
    return { data: joined(kept) };
  }

  /** `data` without its queries, in pieces; an unfinished sequence at its end is kept for the next chunk. */
  private strip(data: Buffer): Buffer[] {
    const kept: Buffer[] = [];
    let from = 0;
    let at = data.indexOf(ESC);
    while (at >= 0) {
      const length = queryLength(data, at);
      if (length === INCOMPLETE && data.byteLength - at < SEQUENCE_MAX_BYTES) {
        kept.push(data.subarray(from, at));
        this.pending = Buffer.from(data.subarray(at));
        return kept;
      }
      if (length > 0) {
        kept.push(data.subarray(from, at));
        from = at + length;
      }
      at = data.indexOf(ESC, Math.max(at + 1, from));
    }
    kept.push(data.subarray(from));
    return kept;
  }
}

/** The pieces as one buffer: the only non-empty one as it is (a chunk with nothing to drop is not copied), else joined. */
function joined(pieces: readonly Buffer[]): Buffer {
  const full = pieces.filter((piece) => piece.byteLength > 0);
  return full.length === 1 ? full[0]! : Buffer.concat(full);
}

/** The length of the query starting at `data[at]` (an ESC), 0 when what starts there is no query, INCOMPLETE when it ends beyond `data`. */
function queryLength(data: Buffer, at: number): number {
  if (at + 1 >= data.byteLength) return INCOMPLETE;
  switch (data[at + 1]) {
    case 0x5b: // [
      return csiQuery(data, at);
    case 0x5d: // ]
      return stringQuery(data, at, true);
    case 0x50: // P
      return stringQuery(data, at, false);
    case 0x5a: // Z: DECID, answered as device attributes
      return 2;
    default:
      return 0;
  }
}

/** CSI: parameter bytes (0x30-0x3f), intermediate bytes (0x20-0x2f), a final byte (0x40-0x7e). */
function csiQuery(data: Buffer, at: number): number {
  let i = at + 2;
  while (i < data.byteLength && data[i]! >= 0x30 && data[i]! <= 0x3f) i++;
  const paramsEnd = i;
  while (i < data.byteLength && data[i]! >= 0x20 && data[i]! <= 0x2f) i++;
  if (i >= data.byteLength) return INCOMPLETE;
  const final = data[i]!;
  if (final < 0x40 || final > 0x7e) return 0;
  const params = data.toString("latin1", at + 2, paramsEnd);
  const intermediates = data.toString("latin1", paramsEnd, i);
  return isCsiQuery(params, intermediates, String.fromCharCode(final)) ? i + 1 - at : 0;
}

const WINDOW_REPORTS = new Set(["11", "13", "14", "15", "16", "18", "19", "20", "21"]);

function isCsiQuery(params: string, intermediates: string, final: string): boolean {
  const marker = /^[<=>?]/.test(params) ? params[0]! : "";
  if (intermediates === "$") return final === "p" || final === "w" || final === "u";
  if (intermediates !== "") return false;
  switch (final) {
    case "c":
      return true;
    case "n":
      return marker === "" || marker === "?";
    case "q":
      return marker === ">";
    case "u":
    case "S":
    case "m":
      return marker === "?";
    case "x":
      return marker === "";
    case "t":
      return marker === "" && WINDOW_REPORTS.has(params.split(";")[0]!);
    default:
      return false;
  }
}

/**
 * OSC (`ESC ]`, ended by BEL or ST) or DCS (`ESC P`, ended by ST): dropped
 * when an OSC has a parameter that is `?` or is one with effects beyond the
 * screen, or a DCS is a `+q` or `$q` request. An ESC that is not ST ends the
 * string (terminals drop it).
 */
function stringQuery(data: Buffer, at: number, osc: boolean): number {
  for (let i = at + 2; i < data.byteLength; i++) {
    const byte = data[i]!;
    if (osc && byte === 0x07) return isStringQuery(data.toString("latin1", at + 2, i), osc) ? i + 1 - at : 0;
    if (byte !== ESC) continue;
    if (i + 1 >= data.byteLength) return INCOMPLETE;
    if (data[i + 1] !== 0x5c) return 0;
    return isStringQuery(data.toString("latin1", at + 2, i), osc) ? i + 2 - at : 0;
  }
  return INCOMPLETE;
}

/** OSCs whose effect is not on the screen: the clipboard (52), notifications (9, 99, 777). */
const OSC_EFFECTS = new Set(["52", "9", "99", "777"]);

function isStringQuery(body: string, osc: boolean): boolean {
  if (!osc) return body.startsWith("+q") || body.startsWith("$q");
  const params = body.split(";");
  return OSC_EFFECTS.has(params[0]!) || params.includes("?");
}
