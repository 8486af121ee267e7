import { renderScreen, type Screen } from "../common/screen-render.js";
import { PtyState } from "../gen/tether/v1/pty_pb.js";
import { PtyService } from "../gen/tether/v1/pty_service_pb.js";
import type { GrpcClient } from "./grpc-client.js";

/** How long a capture waits for a program asked to redraw to start drawing (one that ignores the request costs this). */
const REDRAW_START_MS = 500;
/** How long its drawing must then be quiet for the screen to be taken as drawn. */
const REDRAW_QUIET_MS = 150;
/** The longest a capture waits for a redraw in all. */
const REDRAW_MAX_MS = 2_000;
/** The most output a capture reads for its scrollback (-S): what ~16,000 lines of 80 columns take, twice over. */
const SCROLLBACK_READ_MAX_BYTES = 4 * 1024 * 1024;

/**
 * The screen of PTY `ref` as it is now: its modes and recent output
 * (ReadPty's replay) rendered at its size. A full-screen program (on the
 * alternate screen) may have drawn only changes since long before the
 * replay's start: with `redraw` it is asked to draw its screen whole
 * (ReadPty's redraw, as an attaching client asks), and the screen is taken
 * once its output is quiet. With `scrollback`, the rows above the screen
 * come too, read from further back than the replay when it holds too few.
 */
export async function captureScreen(client: GrpcClient, ref: string, options: { scrollback: number; redraw: boolean }): Promise<{ id: string; screen: Screen }> {
  const history = options.scrollback;
  let output = await readScreenOutput(client, ref, { redraw: false, fromOffset: undefined });
  let screen = await renderScreen(output.cols, output.rows, output.chunks, history);
  // More rows asked for than the replay holds: read further back, about as far as that many rows take.
  let fromOffset: number | undefined;
  if (screen.scrollback.length < history && output.fromOffset > output.firstOffset) {
    const bytes = Math.min(SCROLLBACK_READ_MAX_BYTES, (history + output.rows) * output.cols * 2);
    fromOffset = Math.max(output.firstOffset, output.liveOffset - bytes);
    if (fromOffset < output.fromOffset) {
      output = await readScreenOutput(client, output.id, { redraw: false, fromOffset });
      screen = await renderScreen(output.cols, output.rows, fromLineStart(output, fromOffset), history);
    }
  }
  if (screen.alternateScreen && output.open && options.redraw) {
    output = await readScreenOutput(client, output.id, { redraw: true, fromOffset });
    screen = await renderScreen(output.cols, output.rows, fromLineStart(output, fromOffset), history);
  }
  return { id: output.id, screen };
}

/**
 * The chunks from the first line start on: output read from an offset of
 * the capture's own choosing may begin inside a line or an escape sequence,
 * whose rest would show as stray characters. Output from the oldest offset
 * kept, or from the replay's start (at a line or sequence start), is whole.
 */
function fromLineStart(output: ScreenOutput, fromOffset: number | undefined): Uint8Array[] {
  if (fromOffset === undefined || fromOffset <= output.firstOffset) return output.chunks;
  const [modes, ...rest] = output.chunks;
  for (let i = 0; i < rest.length; i++) {
    const newline = rest[i]!.indexOf(0x0a);
    if (newline >= 0) return [modes!, rest[i]!.subarray(newline + 1), ...rest.slice(i + 1)];
  }
  return output.chunks;
}

/** What a screen is rendered from, and where in the PTY's output it lies. */
interface ScreenOutput {
  id: string;
  open: boolean;
  cols: number;
  rows: number;
  /** The terminal modes, then the output from fromOffset on. */
  chunks: Uint8Array[];
  /** The oldest output the PTY keeps. */
  firstOffset: number;
  fromOffset: number;
  /** Where live output began when the read started. */
  liveOffset: number;
}

/**
 * What a screen is rendered from (ReadPty): the PTY's size and modes, its
 * replay (or its output from `fromOffset`), and with `redraw` the drawing
 * the program was asked for: live output, followed from its start (within
 * REDRAW_START_MS) until quiet (REDRAW_QUIET_MS), at most REDRAW_MAX_MS in all.
 */
async function readScreenOutput(client: GrpcClient, ref: string, options: { redraw: boolean; fromOffset: number | undefined }): Promise<ScreenOutput> {
  const { redraw } = options;
  const read: ScreenOutput = { id: ref, open: false, cols: 80, rows: 24, chunks: [], firstOffset: 0, fromOffset: 0, liveOffset: 0 };
  const quiet = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const quietFor = (ms: number): void => {
    clearTimeout(timer);
    timer = setTimeout(() => quiet.abort(), ms);
  };
  const deadline = redraw ? setTimeout(() => quiet.abort(), REDRAW_MAX_MS) : undefined;
  let liveOffset = Infinity;
  try {
    const request = { pty: ref, noFollow: !redraw, redraw, fromOffset: options.fromOffset === undefined ? undefined : BigInt(options.fromOffset) };
    for await (const response of client.serverStream(PtyService.method.readPty, request, { signal: quiet.signal })) {
      const kind = response.kind;
      if (kind.case === "opened") {
        const pty = kind.value.pty!;
        liveOffset = Number(kind.value.liveOffset);
        Object.assign(read, { id: pty.id, open: pty.state === PtyState.OPEN, cols: pty.size!.cols, rows: pty.size!.rows });
        Object.assign(read, { firstOffset: Number(pty.firstOffset), fromOffset: Number(kind.value.fromOffset), liveOffset });
        read.chunks.push(kind.value.terminalModes);
        if (redraw) quietFor(REDRAW_START_MS);
      } else if (kind.case === "output") {
        read.chunks.push(kind.value.data);
        // The replay is there at once; the drawing asked for comes after it.
        if (redraw && Number(kind.value.offset) >= liveOffset) quietFor(REDRAW_QUIET_MS);
      }
    }
  } catch (error) {
    if (!quiet.signal.aborted) throw error;
  } finally {
    clearTimeout(timer);
    clearTimeout(deadline);
  }
  return read;
}
