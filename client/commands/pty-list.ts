import { timestampMs } from "@bufbuild/protobuf/wkt";
import { ExecStatus, type ExecExit } from "../../gen/tether/v1/exec_pb.js";
import { PtyState, SizePolicy, type Pty } from "../../gen/tether/v1/pty_pb.js";
import { PtyService } from "../../gen/tether/v1/pty_service_pb.js";
import { allPages } from "../all-pages.js";
import { usageError } from "../cli-error.js";
import { parseCommandLine } from "../command-line.js";
import { commandLine, formatDuration, printTable } from "../../common/format.js";
import { enumName } from "../enum-names.js";
import type { GrpcClient } from "../grpc-client.js";
import { isoTime } from "../iso-time.js";
import { labelsText } from "../labels-text.js";
import { type ClientPaths, workspaceArg } from "../paths.js";
import { connectToDaemon } from "../transport.js";
import { workspaceLabels } from "../workspace-list.js";
import { LISTING_FLAGS, printedAs } from "../listing-flags.js";
import { PTY_USAGE } from "./pty.js";

/** `tether pty ls`: PTYs, newest first. */
export async function listPtys(args: string[], paths: ClientPaths): Promise<number> {
  const { values, positionals } = parseCommandLine({
    args,
    allowPositionals: true,
    options: { all: { type: "boolean", default: false }, label: { type: "string", short: "l", multiple: true, default: [] }, ...LISTING_FLAGS },
  });
  if (positionals.length > 1) throw usageError(PTY_USAGE, "tether pty ls");
  const { client } = await connectToDaemon(paths);
  const ptys = await allPtys(client, positionals[0] ?? "", !values.all, values.label);
  if (printedAs(values, ptys, (p) => p.id, ptyJson)) return 0;
  const workspaceLabel = await workspaceLabels(client);
  const now = Date.now();
  // A LABELS column once some PTY listed has labels, as exec ls.
  const labelled = ptys.some((p) => Object.keys(p.labels).length > 0);
  printTable(
    ["PTY", "NAME", "WORKSPACE", "STATE", "SIZE", "CLIENTS", "OPENED", ...(labelled ? ["LABELS"] : []), "COMMAND"],
    ptys.map((p) => [
      p.id,
      p.displayName,
      workspaceLabel(p.workspace),
      p.state === PtyState.OPEN ? "open" : `closed (${howClosed(p.exit)})`,
      `${p.size?.cols ?? 0}x${p.size?.rows ?? 0}`,
      String(p.attachedClients),
      p.createTime === undefined ? "" : `${formatDuration(now - timestampMs(p.createTime))} ago`,
      ...(labelled ? [labelsText(p.labels)] : []),
      commandLine(p.argv),
    ]),
  );
  return 0;
}

/** `tether pty show P`: one PTY, as exec show shows an exec (tmux list-clients' and display's facts). */
export async function showPty(args: string[], paths: ClientPaths): Promise<number> {
  const { values, positionals } = parseCommandLine({ args, allowPositionals: true, options: { json: { type: "boolean", default: false } } });
  if (positionals.length !== 1) throw usageError(PTY_USAGE, "tether pty show");
  const { client } = await connectToDaemon(paths);
  const p = (await client.unary(PtyService.method.getPty, { pty: positionals[0]! })).pty!;
  if (values.json) {
    process.stdout.write(`${JSON.stringify(ptyJson(p))}\n`);
    return 0;
  }
  const open = p.state === PtyState.OPEN;
  const at = (t: Pty["createTime"]): string => (t === undefined ? "" : new Date(timestampMs(t)).toISOString());
  const lines = [
    `pty         ${p.id}${p.displayName === "" ? "" : ` (${p.displayName})`} in workspace ${p.workspace}`,
    `command     ${commandLine(p.argv)}`,
    `cwd         ${p.cwd}`,
    `state       ${open ? `open (pid ${p.pid})` : `closed (${howClosed(p.exit)})${p.exit?.error ? `: ${p.exit.error}` : ""}`}`,
    `size        ${p.size?.cols ?? 0}x${p.size?.rows ?? 0}, ${p.sizePolicy === SizePolicy.SMALLEST ? "the smallest client's" : "the latest active client's"}`,
    ...(open ? [`clients     ${p.attachedClients} attached${p.lastAttachTime === undefined ? "" : `; one last attached or detached ${at(p.lastAttachTime)}`}`] : []),
    `output      ${p.outputBytes} bytes${p.firstOffset > 0n ? `; kept from offset ${p.firstOffset}` : ""}`,
    ...(Object.keys(p.labels).length === 0 ? [] : [`labels      ${labelsText(p.labels)}`]),
    `opened      ${at(p.createTime)}`,
    ...(p.endTime === undefined ? [] : [`closed      ${at(p.endTime)}`]),
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
  return 0;
}

/** Every PTY of a workspace (of all when empty), newest first, page by page; open ones only, with every label selected. */
export function allPtys(client: GrpcClient, workspace: string, openOnly: boolean, labelSelector: readonly string[] = []): Promise<Pty[]> {
  return allPages(async (pageToken) => {
    const page = await client.unary(PtyService.method.listPtys, { workspace: workspace === "" ? "" : workspaceArg(workspace), pageSize: 1000, pageToken, openOnly, labelSelector: [...labelSelector] });
    return { items: page.ptys, nextPageToken: page.nextPageToken };
  });
}

/**
 * The open PTY used last, as tmux attach with no target takes the most
 * recently used session: the one a client attached to or detached from
 * last, else the newest; undefined when none is open.
 */
export async function lastUsedPty(client: GrpcClient): Promise<Pty | undefined> {
  const usedAt = (p: Pty): number => timestampMs(p.lastAttachTime ?? p.createTime!);
  return (await allPtys(client, "", true)).reduce<Pty | undefined>((last, p) => (last === undefined || usedAt(p) > usedAt(last) ? p : last), undefined);
}

/** "exit 5", "SIGHUP", or "lost" (the daemon stopped while it ran: its end is unknown). */
export function howClosed(exit: ExecExit | undefined): string {
  if (exit?.status === ExecStatus.LOST) return "lost";
  if (exit?.status === ExecStatus.SIGNALLED) return exit.signal;
  return `exit ${exit?.exitCode ?? 0}`;
}

function ptyJson(p: Pty): Record<string, unknown> {
  return {
    id: p.id,
    name: p.displayName || null,
    workspace: p.workspace,
    argv: p.argv,
    cwd: p.cwd,
    state: p.state === PtyState.OPEN ? "open" : "closed",
    pid: p.state === PtyState.OPEN ? p.pid : null,
    size_policy: p.sizePolicy === SizePolicy.SMALLEST ? "smallest" : "latest",
    size: { cols: p.size?.cols ?? 0, rows: p.size?.rows ?? 0 },
    attached_clients: p.attachedClients,
    output_bytes: Number(p.outputBytes),
    exit: p.exit === undefined ? null : { status: enumName(ExecStatus, p.exit.status), exit_code: p.exit.status === ExecStatus.LOST ? null : p.exit.exitCode, signal: p.exit.signal || null },
    labels: p.labels,
    created_at: isoTime(p.createTime),
    closed_at: isoTime(p.endTime),
    last_attach_time: isoTime(p.lastAttachTime),
  };
}
