import { durationMs, timestampMs } from "@bufbuild/protobuf/wkt";
import { ExecStatus, RestartMode, type Exec } from "../../gen/tether/v1/exec_pb.js";
import { ExecService } from "../../gen/tether/v1/exec_service_pb.js";
import { allPages } from "../all-pages.js";
import { usageError } from "../cli-error.js";
import { parseCommandLine } from "../command-line.js";
import { enumName } from "../enum-names.js";
import { commandLine, formatBytes, formatDuration, formatElapsed, formatMs, printTable } from "../../common/format.js";
import { isoTime } from "../iso-time.js";
import { labelsText } from "../labels-text.js";
import { labelledOr } from "../labelled-refs.js";
import { type ClientPaths, workspaceArg } from "../paths.js";
import type { GrpcClient } from "../grpc-client.js";
import { connectToDaemon } from "../transport.js";
import { workspaceLabels } from "../workspace-list.js";
import { readinessJson, readinessLines, readyMark } from "../readiness-flags.js";
import { LISTING_FLAGS, printedAs } from "../listing-flags.js";
import { EXEC_USAGE } from "./exec.js";

/** `tether exec ls`: execs, newest first. */
export async function listExecs(args: string[], paths: ClientPaths): Promise<number> {
  const { values, positionals } = parseCommandLine({
    args,
    allowPositionals: true,
    options: { running: { type: "boolean", default: false }, label: { type: "string", short: "l", multiple: true, default: [] }, queue: { type: "string" }, ...LISTING_FLAGS },
  });
  if (positionals.length > 1) throw usageError(EXEC_USAGE, "tether exec ls");
  const { client } = await connectToDaemon(paths);
  const execs = await allExecs(client, positionals[0] ?? "", values.running, execSelector(values));
  if (printedAs(values, execs, (e) => e.id, execJson)) return 0;
  const workspaceLabel = await workspaceLabels(client);
  const now = Date.now();
  // A LABELS column once some exec listed has labels, as tether ls.
  const labelled = execs.some((e) => Object.keys(e.labels).length > 0);
  printTable(
    ["EXEC", "NAME", "WORKSPACE", "STATUS", "EXIT", "STARTED", ...(labelled ? ["LABELS"] : []), "COMMAND"],
    execs.map((e) => [
      e.id,
      e.displayName,
      workspaceLabel(e.workspace),
      `${enumName(ExecStatus, e.status)}${e.paused ? " (paused)" : ""}${readyMark(e)}${e.status === ExecStatus.QUEUED ? queuedWords(e) : ""}${e.restartTime === undefined ? "" : `, restarts in ${formatElapsed(timestampMs(e.restartTime) - now)}`}`,
      exitKnown(e) ? String(e.exitCode) : e.status === ExecStatus.LOST ? "-" : "",
      e.startTime === undefined ? "" : `${formatDuration(now - timestampMs(e.startTime))} ago`,
      ...(labelled ? [labelsText(e.labels)] : []),
      commandLine(e.argv),
    ]),
  );
  return 0;
}

/** `tether exec show`: one exec. */
export async function showExec(args: string[], paths: ClientPaths): Promise<number> {
  const { values, positionals } = parseCommandLine({ args, allowPositionals: true, options: { json: { type: "boolean", default: false } } });
  if (positionals.length !== 1) throw usageError(EXEC_USAGE, "tether exec show");
  const { client } = await connectToDaemon(paths);
  const { exec } = await client.unary(ExecService.method.getExec, { exec: positionals[0]! });
  const e = exec!;
  if (values.json) {
    process.stdout.write(`${JSON.stringify(execJson(e))}\n`);
    return 0;
  }
  const lines = [
    `exec        ${e.id}${e.displayName === "" ? "" : ` (${e.displayName})`} in workspace ${e.workspace}`,
    `command     ${commandLine(e.argv)}${e.tty ? " (tty)" : ""}`,
    `cwd         ${e.cwd}`,
    `status      ${enumName(ExecStatus, e.status)}${e.status === ExecStatus.QUEUED ? queuedWords(e) : ""}${e.status === ExecStatus.RUNNING ? ` (pid ${e.pid}${e.paused ? `, paused: tether exec resume ${e.id}` : ""})` : exitKnown(e) ? `, exit ${e.exitCode}` : ""}${e.signal !== "" ? ` (${e.signal})` : ""}${e.error !== "" ? `: ${e.error}` : ""}`,
    ...(e.queue === "" ? [] : [`queue       ${e.queue}${e.priority === 0 ? "" : ` (priority ${e.priority})`}`]),
    ...(e.after.length === 0 ? [] : [`after       ${e.after.join(", ")}`]),
    ...(e.startAt === undefined ? [] : [`start at    ${new Date(timestampMs(e.startAt)).toISOString()}`]),
    ...(Object.keys(e.labels).length === 0 ? [] : [`labels      ${labelsText(e.labels)}`]),
    ...(e.timeout === undefined ? [] : [`timeout     ${formatMs(durationMs(e.timeout))}`]),
    ...readinessLines(e),
    ...(e.restartPolicy === undefined ? [] : [`restart     ${restartWords(e)}${e.restartCount > 0 ? ` (restart ${e.restartCount} of its command)` : ""}${e.restartTime === undefined ? "" : `; starts again at ${new Date(timestampMs(e.restartTime)).toISOString()}`}`]),
    `output      ${e.stdoutBytes} bytes stdout, ${e.stderrBytes} bytes stderr${e.outputMaxBytes > 0n ? `; keeps the last ${formatBytes(Number(e.outputMaxBytes))}, from offset ${e.firstOffset}` : ""}`,
    ...startLines(e),
  ];
  if (e.endTime !== undefined) lines.push(`ended       ${new Date(timestampMs(e.endTime)).toISOString()}`);
  process.stdout.write(`${lines.join("\n")}\n`);
  return 0;
}

/** Which execs `--label k=v ...` and `--queue Q` select: those with every label, of queue Q ("": any). */
export interface ExecSelector {
  readonly labels: readonly string[];
  readonly queue: string;
}

/** The selector of a command's `--label` and `--queue` flags. */
export function execSelector(values: { readonly label: readonly string[]; readonly queue?: string | undefined }): ExecSelector {
  return { labels: values.label, queue: values.queue ?? "" };
}

/** Whether a selector selects at all (a command then takes no E...). */
export function selects(selector: ExecSelector): boolean {
  return selector.labels.length > 0 || selector.queue !== "";
}

/** Every exec of a workspace (of all when empty), newest first, page by page; running (or queued) ones only, as `selector` selects. */
export function allExecs(client: GrpcClient, workspace: string, runningOnly: boolean, selector: ExecSelector = { labels: [], queue: "" }): Promise<Exec[]> {
  return allPages(async (pageToken) => {
    const { labels, queue } = selector;
    const page = await client.unary(ExecService.method.listExecs, { workspace: workspace === "" ? "" : workspaceArg(workspace), pageSize: 1000, pageToken, runningOnly, labelSelector: [...labels], queue });
    return { items: page.execs, nextPageToken: page.nextPageToken };
  });
}

/**
 * The execs a command that takes `E... | --label k=v | --queue Q` acts on:
 * those named, or every running or queued one with the labels (an agent's,
 * a CI job's), as docker's `$(docker ps -q -f label=...)`, in the queue (as
 * pueue's --group); none such is said on stderr.
 */
export async function namedOrSelected(client: GrpcClient, named: readonly string[], selector: ExecSelector): Promise<readonly string[]> {
  const selected = async (): Promise<string[]> => (await allExecs(client, "", true, selector)).map((e) => e.id);
  if (selector.queue === "") return labelledOr(named, selector.labels, "running exec", selected);
  const ids = await selected();
  if (ids.length === 0) process.stderr.write(`no exec runs or waits in queue ${selector.queue}${selector.labels.length === 0 ? "" : ` with the labels ${selector.labels.join(", ")}`}\n`);
  return ids;
}

/** Whether an exec has an exit code: not while it runs or waits in its queue, nor when the daemon lost it (its end is unknown) or it never ran. */
function exitKnown(e: Exec): boolean {
  return e.status !== ExecStatus.RUNNING && e.status !== ExecStatus.LOST && e.status !== ExecStatus.QUEUED && e.status !== ExecStatus.CANCELLED;
}

/** What a queued exec waits for, after its status: " in ci", " after e-8f2k1", " until 03:00:00 in ci". */
export function queuedWords(e: Exec, now = Date.now()): string {
  const startAt = e.startAt === undefined ? undefined : timestampMs(e.startAt);
  const until = startAt === undefined || startAt <= now ? "" : ` until ${clockTime(startAt, now)}`;
  return `${until}${e.queue === "" ? "" : ` in ${e.queue}${e.priority === 0 ? "" : ` (priority ${e.priority})`}`}${e.after.length === 0 ? "" : ` after ${e.after.join(",")}`}`;
}

/** A time to come in local time: 03:00:00 within a day from now, else 2026-12-24 03:00. */
function clockTime(ms: number, now: number): string {
  const at = new Date(ms);
  const two = (n: number): string => String(n).padStart(2, "0");
  const clock = `${two(at.getHours())}:${two(at.getMinutes())}`;
  if (ms - now < 24 * 3600 * 1000) return `${clock}:${two(at.getSeconds())}`;
  return `${at.getFullYear()}-${two(at.getMonth() + 1)}-${two(at.getDate())} ${clock}`;
}

/** When it was started, and when its process started after waiting in its queue. */
function startLines(e: Exec): string[] {
  const at = (t: Exec["createTime"]): string => (t === undefined ? "" : new Date(timestampMs(t)).toISOString());
  if (e.queue === "" && e.after.length === 0 && e.startAt === undefined) return [`started     ${at(e.createTime)}`];
  return [`queued      ${at(e.createTime)}`, ...(e.startTime === undefined ? [] : [`started     ${at(e.startTime)}`])];
}

export function execJson(e: Exec): Record<string, unknown> {
  return {
    id: e.id,
    name: e.displayName || null,
    workspace: e.workspace,
    argv: e.argv,
    cwd: e.cwd,
    tty: e.tty,
    status: enumName(ExecStatus, e.status),
    pid: e.status === ExecStatus.RUNNING ? e.pid : null,
    paused: e.paused,
    exit_code: exitKnown(e) ? e.exitCode : null,
    signal: e.signal || null,
    error: e.error || null,
    stdout_bytes: Number(e.stdoutBytes),
    stderr_bytes: Number(e.stderrBytes),
    output_max_bytes: Number(e.outputMaxBytes) || null,
    labels: e.labels,
    restart: e.restartPolicy === undefined ? null : restartWords(e),
    restart_count: e.restartCount,
    timeout_ms: e.timeout === undefined ? null : durationMs(e.timeout),
    restart_at: isoTime(e.restartTime),
    first_offset: Number(e.firstOffset),
    queue: e.queue || null,
    priority: e.priority,
    after: e.after,
    start_at: isoTime(e.startAt),
    created_at: isoTime(e.createTime),
    started_at: isoTime(e.startTime),
    ended_at: isoTime(e.endTime),
    ...readinessJson(e),
  };
}

/** An exec's restart policy as --restart takes it: on-failure, on-failure:N, always. */
function restartWords(e: Exec): string {
  const policy = e.restartPolicy!;
  if (policy.mode === RestartMode.ALWAYS) return "always";
  return policy.maxRestarts > 0 ? `on-failure:${policy.maxRestarts}` : "on-failure";
}
