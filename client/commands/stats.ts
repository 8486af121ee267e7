import { ExecService } from "../../gen/tether/v1/exec_service_pb.js";
import { PtyService } from "../../gen/tether/v1/pty_service_pb.js";
import { WorkspaceService } from "../../gen/tether/v1/workspace_service_pb.js";
import { once } from "node:events";
import { commandLine, formatBytes, formatTable } from "../../common/format.js";
import { CliError } from "../cli-error.js";
import { parseCommandLine } from "../command-line.js";
import { durationFlagMs } from "../flags.js";
import type { GrpcClient } from "../grpc-client.js";
import { type ClientPaths, workspaceArg } from "../paths.js";
import { sampleUsage, type Usage } from "../process-usage.js";
import { liveRuns } from "../session-runs.js";
import { connectToDaemon } from "../transport.js";
import { listAllWorkspaces, workspaceLabels } from "../workspace-list.js";

export const STATS_USAGE = `  tether stats [WS ...] [--sample 1s] [-w] [--json]
                                              what each live exec, terminal and session run (in WS) uses now,
                                              with everything it started, as docker stats --no-stream shows it:
                                              processes, CPU (% of one core over the sample), resident memory;
                                              -w/--watch: a sample after another until Ctrl-C, as docker stats`;

/** One live thing of the daemon's with a process: what it is and its pid. */
interface Live {
  readonly kind: "exec" | "pty" | "run";
  readonly id: string;
  readonly workspace: string;
  readonly pid: number;
  readonly command: string;
}

/** `tether stats`: the live execs, terminals and runs, and what each uses (process-usage.ts); with --watch, again and again. */
export async function statsCommand(args: string[], paths: ClientPaths): Promise<number> {
  const { values, positionals } = parseCommandLine({
    args,
    allowPositionals: true,
    options: { sample: { type: "string", default: "1s" }, json: { type: "boolean", default: false }, watch: { type: "boolean", short: "w", default: false } },
  });
  const sampleMs = durationFlagMs("--sample", values.sample);
  if (!(sampleMs >= 100 && sampleMs <= 60_000)) throw new CliError(`--sample takes 100ms to 60s, got ${JSON.stringify(values.sample)}`, 2);
  const { client } = await connectToDaemon(paths);
  if (!values.watch) {
    process.stdout.write(await render(await usageNow(client, positionals, sampleMs), client, values.json));
    return 0;
  }
  // As docker stats: each sample's table in place of the last on a terminal, one after another elsewhere (JSON: a line each); Ctrl-C ends it.
  const stop = new AbortController();
  process.once("SIGINT", () => stop.abort());
  const clear = process.stdout.isTTY === true && !values.json ? "\x1b[H\x1b[2J" : "";
  while (!stop.signal.aborted) {
    const text = await render(await usageNow(client, positionals, sampleMs), client, values.json);
    if (stop.signal.aborted) break;
    if (!process.stdout.write(`${clear}${text}${clear === "" && !values.json ? "\n" : ""}`)) await once(process.stdout, "drain");
  }
  return 0;
}

/** What each live exec, terminal and run (of the workspaces `refs` name, or all) uses over a sample of `sampleMs`. */
async function usageNow(client: GrpcClient, refs: readonly string[], sampleMs: number): Promise<(Live & Usage)[]> {
  const [{ execs }, { ptys }, workspaces] = await Promise.all([
    client.unary(ExecService.method.listExecs, { runningOnly: true, pageSize: 1000 }),
    client.unary(PtyService.method.listPtys, { openOnly: true, pageSize: 1000 }),
    listAllWorkspaces(client, false, []),
  ]);
  // Named workspaces (a name, an id, a directory): only theirs.
  const only = new Set(await Promise.all(refs.map(async (ref) => (await client.unary(WorkspaceService.method.getWorkspace, { workspace: workspaceArg(ref) })).workspace!.id)));
  const runs = await liveRuns(client, workspaces.filter((w) => only.size === 0 || only.has(w.id)).flatMap((w) => w.liveRunNames));
  const live: Live[] = [
    ...execs.map((e): Live => ({ kind: "exec", id: e.displayName || e.id, workspace: e.workspace, pid: e.pid, command: commandLine(e.argv) })),
    ...ptys.map((p): Live => ({ kind: "pty", id: p.displayName || p.id, workspace: p.workspace, pid: p.pid, command: commandLine(p.argv) })),
    ...runs.map(({ session, run }): Live => ({ kind: "run", id: `${session}/${run.number}`, workspace: runWorkspace(workspaces, session, run.number), pid: run.pid, command: `${run.task}: ${run.command}` })),
  ].filter((l) => l.pid > 0 && (only.size === 0 || only.has(l.workspace)));
  const usage = await sampleUsage(live.map((l) => l.pid), sampleMs);
  return live.flatMap((l) => {
    const used = usage.get(l.pid);
    return used === undefined ? [] : [{ ...l, ...used }];
  });
}

/** A sample as a table (or a JSON array), a line at its end. */
async function render(now: readonly (Live & Usage)[], client: GrpcClient, json: boolean): Promise<string> {
  if (json) {
    const rows = now.map((l) => ({ kind: l.kind, id: l.id, workspace: l.workspace, pid: l.pid, processes: l.processes, cpu_percent: round(l.cpuPercent), rss_bytes: l.rssBytes, command: l.command }));
    return `${JSON.stringify(rows)}\n`;
  }
  if (now.length === 0) return "nothing live: no exec, terminal or session run is running\n";
  const label = await workspaceLabels(client);
  return formatTable(
    ["KIND", "ID", "WORKSPACE", "PID", "PROCS", "CPU", "MEM", "COMMAND"],
    now.map((l) => [l.kind, l.id, label(l.workspace), String(l.pid), String(l.processes), `${round(l.cpuPercent)}%`, formatBytes(l.rssBytes), l.command]),
  );
}

/** The workspace whose live runs name session `session`'s run `run`. */
function runWorkspace(workspaces: readonly { id: string; liveRunNames: readonly string[] }[], session: string, run: number): string {
  return workspaces.find((w) => w.liveRunNames.includes(`sessions/${session}/runs/${run}`))?.id ?? "";
}

function round(percent: number): number {
  return Math.round(percent * 10) / 10;
}
