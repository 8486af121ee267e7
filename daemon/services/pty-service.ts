import type { ServiceImpl } from "@connectrpc/connect";
import type { AttachPtyRequest, PtyService, PtySpec as PtySpecProto } from "../../gen/tether/v1/pty_service_pb.js";
import type { TerminalSize } from "../../gen/tether/v1/exec_pb.js";
import { sendNowOf, takeNowOf } from "../call-context.js";
import { invalidArgument } from "../errors.js";
import { parseSignal } from "../process/signals.js";
import { checkSize } from "../workspaces/terminal-size.js";
import type { PtyAttachment, PtySpec, Ptys } from "../workspaces/ptys.js";
import { PtyDetachedBy } from "../workspaces/pty-clients.js";
import type { PtyRecord } from "../workspaces/types.js";
import { durationFieldMs } from "./durations.js";
import { parseLabelSelectors } from "../workspaces/labels.js";
import { dataOrText } from "./data-or-text.js";
import { nextPageToken, numericPageToken, pageSize } from "./paging.js";
import { execExitToProto, ptyOutputResponse, ptyToProto, readPtyOutputResponse, sizePolicyFromProto } from "./workspace-proto.js";

/** How long ClosePty waits after SIGHUP before SIGKILL when the request names no grace. */
const DEFAULT_CLOSE_GRACE_MS = 5_000;

/** Ends an attach without an error: the client asked to detach. */
const DETACHED = new Error("detached");

/** Handlers for tether.v1.PtyService: proto in, domain call, proto out (a call's signal aborts when the daemon stops too: see CallContexts). */
export function createPtyService(ptys: Ptys): ServiceImpl<typeof PtyService> {
  const toProto = (pty: PtyRecord) => ptyToProto(pty, ptys.attachedClients(pty.id), ptys.outputBounds(pty.id));
  // The first answer of AttachPty and ReadPty: the PTY, where its output starts, and the modes to set first.
  const opened = (attachment: PtyAttachment) => ({ pty: toProto(attachment.pty), fromOffset: BigInt(attachment.fromOffset), liveOffset: BigInt(attachment.liveOffset), terminalModes: attachment.terminalModes });
  return {
    async *attachPty(requests, ctx) {
      const incoming = requests[Symbol.asyncIterator]();
      const first = await incoming.next();
      if (first.done === true || first.value.kind.case !== "open") {
        throw invalidArgument("kind", "the first AttachPty message must be `open` (a pty to attach to, or create): later messages carry input, resize, signal or detach");
      }
      const open = first.value.kind.value;
      const size = sizeOf(open.size);
      if (size !== undefined) checkSize(size.cols, size.rows);
      let ref: string;
      if (open.target.case === "create") ref = ptys.create(specOf(open.target.value, size)).id;
      else if (open.target.case === "pty") ref = open.target.value;
      else throw invalidArgument("target", "open names a pty to attach to, or create for a new one");
      const ended = new AbortController();
      const sendNow = sendNowOf(ctx);
      const signal = AbortSignal.any([ctx.signal, ended.signal]);
      const attachment = ptys.attach(ref, {
        readOnly: open.readOnly,
        size,
        fromOffset: open.fromOffset === undefined ? undefined : Number(open.fromOffset),
        detachOthers: open.detachOthers,
        signal,
        // An echo goes out from the terminal's read while the call waits for output (see SendNow).
        direct: sendNow === undefined ? undefined : (piece) => sendNow(ptyOutputResponse(piece)),
      });
      try {
        yield { kind: { case: "opened", value: opened(attachment) } };
        if (!open.readOnly) takeInputNow(attachment, requests, signal);
        void applyRequests(attachment, incoming).then(
          () => undefined,
          (error: unknown) => ended.abort(error),
        );
        for await (const chunks of attachment.chunks) {
          for (const chunk of chunks) yield ptyOutputResponse(chunk);
        }
        const final = attachment.final();
        if (final.status !== "running") yield { kind: { case: "exit", value: execExitToProto(final) } };
      } catch (error) {
        if (ended.signal.reason === DETACHED) return;
        // Another client detached this one: it is told why, and its call ends as a detach does.
        if (error instanceof PtyDetachedBy) yield { kind: { case: "detached", value: { reason: error.message } } };
        else throw error;
      } finally {
        attachment.detach();
      }
    },
    async *readPty(req, ctx) {
      const attachment = ptys.attach(req.pty, {
        readOnly: true,
        size: undefined,
        fromOffset: req.fromOffset === undefined ? undefined : Number(req.fromOffset),
        reader: true,
        follow: !req.noFollow,
        redraw: req.redraw,
        signal: ctx.signal,
      });
      try {
        yield { kind: { case: "opened", value: opened(attachment) } };
        for await (const chunks of attachment.chunks) {
          for (const chunk of chunks) yield readPtyOutputResponse(chunk);
        }
        const final = attachment.final();
        if (final.status !== "running") yield { kind: { case: "exit", value: execExitToProto(final) } };
      } finally {
        attachment.detach();
      }
    },
    createPty(req) {
      if (req.spec === undefined) throw invalidArgument("spec", "say what to run: spec.workspace at least");
      return { pty: toProto(ptys.create(specOf(req.spec, undefined))) };
    },
    getPty(req) {
      return { pty: toProto(ptys.get(req.pty)) };
    },
    listPtys(req) {
      const size = pageSize(req.pageSize);
      const before = numericPageToken(req.pageToken, Number.MAX_SAFE_INTEGER);
      const page = ptys.list(req.workspace, before, size + 1, { openOnly: req.openOnly, labels: parseLabelSelectors(req.labelSelector) });
      return { ptys: page.slice(0, size).map(toProto), nextPageToken: nextPageToken(page, size, (p) => String(p.seq)) };
    },
    resizePty(req) {
      const size = sizeOf(req.size);
      if (size === undefined) throw invalidArgument("size", "give the new size: columns and rows, each 1-1000");
      return { pty: toProto(ptys.resize(req.pty, size)) };
    },
    async writePty(req, ctx) {
      if (req.keys.length > 0 && (req.data.byteLength > 0 || req.text !== "")) throw invalidArgument("keys", "set data, text or keys, one of them");
      return { pty: toProto(await ptys.write(req.pty, req.keys.length > 0 ? { keys: req.keys } : { bytes: dataOrText(req).bytes }, ctx.signal)) };
    },
    signalPty(req) {
      return { pty: toProto(ptys.signal(req.pty, parseSignal(req.signal))) };
    },
    async closePty(req) {
      return { pty: toProto(await ptys.close(req.pty, durationFieldMs(req.grace, "grace", DEFAULT_CLOSE_GRACE_MS))) };
    },
    async deletePty(req) {
      const { pty, outputBytes } = await ptys.remove(req.pty);
      return { pty: toProto(pty), outputBytes: BigInt(outputBytes) };
    },
    renamePty(req) {
      return { pty: toProto(ptys.rename(req.pty, req.displayName)) };
    },
    detachPty(req) {
      const { pty, detached } = ptys.detachClients(req.pty);
      return { pty: toProto(pty), detached };
    },
  };
}

/** An unset size is "none"; 0x0 given explicitly is refused like any other bad size. */
function sizeOf(size: TerminalSize | undefined): { cols: number; rows: number } | undefined {
  return size === undefined ? undefined : { cols: size.cols, rows: size.rows };
}

function specOf(spec: PtySpecProto, clientSize: { cols: number; rows: number } | undefined): PtySpec {
  return {
    workspace: spec.workspace,
    argv: spec.argv,
    cwd: spec.cwd,
    env: spec.env,
    size: sizeOf(spec.size) ?? clientSize,
    sizePolicy: sizePolicyFromProto(spec.sizePolicy),
    name: spec.displayName,
    labels: spec.labels,
  };
}

/**
 * Writes a client's keystrokes to the terminal from the socket read that
 * brought them, when its server offers that (TakeNow): an echo's round trip
 * is a few promise turns shorter. While the terminal has too much input
 * waiting, and for every other message, applyRequests takes them in order.
 */
function takeInputNow(attachment: PtyAttachment, requests: AsyncIterable<AttachPtyRequest>, signal: AbortSignal): void {
  let held: Promise<void> | undefined;
  takeNowOf(requests)?.((request) => {
    if (request.kind.case !== "input" || held !== undefined || signal.aborted) return false;
    try {
      held = attachment.input(request.kind.value);
    } catch {
      return false; // applyRequests applies it again and ends the call with the error.
    }
    void held?.then(() => (held = undefined));
    return true;
  });
}

/** Applies an attached client's later messages in order; a refused one (input from a read-only client, a bad size) ends this client's call. */
async function applyRequests(attachment: PtyAttachment, incoming: AsyncIterator<AttachPtyRequest>): Promise<void> {
  for (;;) {
    let next: IteratorResult<AttachPtyRequest>;
    try {
      next = await incoming.next();
    } catch {
      return; // The client went away: it detached; the program goes on.
    }
    if (next.done === true) return;
    const kind = next.value.kind;
    switch (kind.case) {
      case "input":
        // Held here while the terminal has too much input waiting: HTTP/2 flow control holds the client.
        await attachment.input(kind.value);
        break;
      case "resize":
        attachment.resize({ cols: kind.value.cols, rows: kind.value.rows });
        break;
      case "signal":
        attachment.signal(parseSignal(kind.value));
        break;
      case "detach":
        if (kind.value) throw DETACHED;
        break;
      case "endOfInput":
        if (kind.value) attachment.endInput();
        break;
      default:
        throw invalidArgument("kind", "AttachPty takes `open` once, as the first message: later messages carry input, end_of_input, resize, signal or detach");
    }
  }
}
