const ESC = 0x1b;
const LEFT_BRACKET = 0x5b;
/** Answers owed at once, at most (and questions sharing one finding of the cursor): a program that asks faster than its cursor can be found is answered no further. */
const PENDING_MAX = 64;
/** The least time between two findings of the cursor: a program asking without pause shares one among its questions. */
const CURSOR_FIND_SPACING_MS = 10;

/** Device attributes as xterm.js answers them (the emulator that finds the cursor): a VT100 with advanced video, and its secondary ones. */
const PRIMARY_ATTRIBUTES = Buffer.from("\x1b[?1;2c");
const SECONDARY_ATTRIBUTES = Buffer.from("\x1b[>0;276;0c");
/** Device status: OK. */
const STATUS_OK = Buffer.from("\x1b[0n");

type CursorQuery = "cursor" | "extended-cursor";

/** An answer owed: bytes known at once, or the cursor's place after the output up to `end` (queries asked back to back share one finding). */
type Owed = Buffer | { readonly end: number; readonly queries: CursorQuery[] };

/** Where the cursor is once the program's output up to `end` has been drawn (zero-based), or undefined when that cannot be told. */
export type CursorFinder = (end: number) => Promise<{ x: number; y: number; cols: number } | undefined>;

/**
 * Answers a program's questions to its terminal while no terminal is
 * there to hear them: a PTY that nobody attached to, or that only scripts
 * and read-only watchers follow. tmux and screen answer from their own
 * emulation; a detached dtach or abduco answers nothing, and a program that
 * waits for its answer hangs or complains: fish waits for its device
 * attributes, prompt_toolkit (IPython) warns that the terminal cannot report
 * the cursor, crossterm's programs fail to start. Asked while a client with
 * a terminal is attached, its terminal answers (and the daemon does not).
 *
 * Answered: primary and secondary device attributes (`CSI c`, `CSI > c`),
 * device status (`CSI 5 n`) and the cursor's place (`CSI 6 n`, and
 * `CSI ? 6 n`), found by rendering the program's recent output. Answers go
 * in the order the questions were asked (fish asks for device attributes
 * last, to know the answers before it have come). Other queries (colours,
 * modes, versions) get no answer, as from a terminal that does not know them.
 */
export class TerminalAnswers {
  /** An escape at the end of the last chunk scanned, and what followed it there: a query the next chunk may end. */
  private carry: Buffer | undefined;
  private readonly owed: Owed[] = [];
  private answering = false;
  /** The terminal holds as much input as it may (a program that asks and never reads): answers are dropped until it takes it. */
  private inputFull = false;

  constructor(
    /** Types an answer into the program's terminal, as a terminal's answer arrives: a promise when too much input waits for it. */
    private readonly write: (answer: Buffer) => Promise<void> | undefined,
    private readonly findCursor: CursorFinder,
  ) {}

  /** The program's next output, `bytes` at `offset`; `listened` when a terminal that answers is attached to hear it. */
  scan(bytes: Buffer, offset: number, listened: boolean): void {
    const carried = this.carry;
    this.carry = undefined;
    if (listened) return;
    const text = carried === undefined ? bytes : Buffer.concat([carried, bytes]);
    const base = offset - (carried?.length ?? 0);
    for (let at = text.indexOf(ESC); at >= 0; at = text.indexOf(ESC, at + 1)) {
      const query = queryAt(text, at);
      if (query === "unfinished") {
        this.carry = Buffer.from(text.subarray(at));
        return;
      }
      if (query !== undefined) this.owe(query.kind, base + query.end);
    }
  }

  private owe(kind: "primary" | "secondary" | "status" | CursorQuery, end: number): void {
    if (kind === "primary" || kind === "secondary" || kind === "status") {
      const answer = kind === "primary" ? PRIMARY_ATTRIBUTES : kind === "secondary" ? SECONDARY_ATTRIBUTES : STATUS_OK;
      if (this.owed.length === 0 && !this.answering) this.type(answer);
      else if (this.owed.length < PENDING_MAX) this.owed.push(answer);
      return;
    }
    const last = this.owed.at(-1);
    if (last !== undefined && !Buffer.isBuffer(last)) {
      if (last.queries.length < PENDING_MAX) this.owed[this.owed.length - 1] = { end, queries: [...last.queries, kind] };
    } else if (this.owed.length < PENDING_MAX) this.owed.push({ end, queries: [kind] });
    if (!this.answering) void this.answerOwed();
  }

  private type(answer: Buffer): void {
    if (this.inputFull) return;
    const room = this.write(answer);
    if (room === undefined) return;
    this.inputFull = true;
    void room.then(() => (this.inputFull = false));
  }

  /** Answers what is owed, in order: a cursor's place once it is found. */
  private async answerOwed(): Promise<void> {
    this.answering = true;
    try {
      for (let next = this.owed.shift(); next !== undefined; next = this.owed.shift()) {
        if (Buffer.isBuffer(next)) {
          this.type(next);
          continue;
        }
        const spaced = new Promise((resolve) => setTimeout(resolve, CURSOR_FIND_SPACING_MS));
        const cursor = await this.findCursor(next.end).catch(() => undefined);
        await spaced;
        if (cursor === undefined) continue;
        // At the right margin, with a wrap pending, the cursor is on the last column.
        const row = cursor.y + 1;
        const column = Math.min(cursor.x, cursor.cols - 1) + 1;
        for (const query of next.queries) this.type(Buffer.from(query === "cursor" ? `\x1b[${row};${column}R` : `\x1b[?${row};${column}R`));
      }
    } finally {
      this.answering = false;
    }
  }
}

/**
 * The query whose escape is at `at` in `text`, and the index after it;
 * undefined when it is no query answered here; "unfinished" when `text`
 * ends before it could be told.
 */
function queryAt(text: Buffer, at: number): { kind: "primary" | "secondary" | "status" | CursorQuery; end: number } | "unfinished" | undefined {
  if (at + 1 >= text.length) return "unfinished";
  if (text[at + 1] !== LEFT_BRACKET) return undefined;
  let i = at + 2;
  const prefix = text[i] === 0x3e || text[i] === 0x3f ? String.fromCharCode(text[i++]!) : "";
  let parameter = "";
  while (i < text.length && text[i]! >= 0x30 && text[i]! <= 0x39 && parameter.length < 2) parameter += String.fromCharCode(text[i++]!);
  if (i >= text.length) return "unfinished";
  const end = i + 1;
  switch (`${prefix}${parameter}${String.fromCharCode(text[i]!)}`) {
    case "c":
    case "0c":
      return { kind: "primary", end };
    case ">c":
    case ">0c":
      return { kind: "secondary", end };
    case "5n":
      return { kind: "status", end };
    case "6n":
      return { kind: "cursor", end };
    case "?6n":
      return { kind: "extended-cursor", end };
    default:
      return undefined;
  }
}
