import { ExecService } from "../../gen/tether/v1/exec_service_pb.js";
import { PtyService } from "../../gen/tether/v1/pty_service_pb.js";
import { WorkspaceService } from "../../gen/tether/v1/workspace_service_pb.js";
import { commandLine, formatBytes, printTable } from "../../common/format.js";
import { CliError } from "../cli-error.js";
import { parseCommandLine } from "../command-line.js";
import { parseDurationFlag } from "../flags.js";
import { type ClientPaths, workspaceArg } from "../paths.js";
import { sampleUsage, type Usage } from "../process-usage.js";
import { liveRuns } from "../session-runs.js";
import { connectToDaemon } from "../transport.js";
import { listAllWorkspaces, workspaceLabels } from "../workspace-list.js";

export const STATS_USAGE = `  tether stats [WS ...] [--sample 1s] [--json]
                                              what each live exec, terminal and session run (in WS) uses now,
                                              with everything it started, as docker stats shows it once:
                                              processes, CPU (% of one core over the sample), resident memory`;

/** One live thing of the daemon's with a process: what it is and its pid. */
interface Live {
  readonly kind: "exec" | "pty" | "run";
  readonly id: string;
  readonly workspace: string;
  readonly pid: number;
  readonly command: string;
}

/** `tether stats`: the live execs, terminals and runs, and what each uses (process-usage.ts). */
export async function statsCommand(args: string[], paths: ClientPaths): Promise<number> {
  const { values, positionals } = parseCommandLine({ args, allowPositionals: true, options: { sample: { type: "string", default: "1s" }, json: { type: "boolean", default: false } } });
  const { seconds, nanos } = parseDurationFlag("--sample", values.sample);
  const sampleMs = Number(seconds) * 1000 + nanos / 1e6;
  if (!(sampleMs >= 100 && sampleMs <= 60_000)) throw new CliError(`--sample takes 100ms to 60s, got ${JSON.stringify(values.sample)}`, 2);
  const { client } = await connectToDaemon(paths);
  const [{ execs }, { ptys }, workspaces] = await Promise.all([
    client.unary(ExecService.method.listExecs, { runningOnly: true, pageSize: 1000 }),
    client.unary(PtyService.method.listPtys, { openOnly: true, pageSize: 1000 }),
    listAllWorkspaces(client, false, []),
  ]);
  // Named workspaces (a name, an id, a directory): only theirs.
  const only = new Set(await Promise.all(positionals.map(async (ref) => (await client.unary(WorkspaceService.method.getWorkspace, { workspace: workspaceArg(ref) })).workspace!.id)));
  const runs = await liveRuns(client, workspaces.filter((w) => only.size === 0 || only.has(w.id)).flatMap((w) => w.liveRunNames));
  const live: Live[] = [
    ...execs.map((e): Live => ({ kind: "exec", id: e.displayName || e.id, workspace: e.workspace, pid: e.pid, command: commandLine(e.argv) })),
    ...ptys.map((p): Live => ({ kind: "pty", id: p.displayName || p.id, workspace: p.workspace, pid: p.pid, command: commandLine(p.argv) })),
    ...runs.map(({ session, run }): Live => ({ kind: "run", id: `${session}/${run.number}`, workspace: runWorkspace(workspaces, session, run.number), pid: run.pid, command: `${run.task}: ${run.command}` })),
  ].filter((l) => l.pid > 0 && (only.size === 0 || only.has(l.workspace)));
  const usage = await sampleUsage(live.map((l) => l.pid), sampleMs);
  const now = live.flatMap((l) => {
    const used = usage.get(l.pid);
    return used === undefined ? [] : [{ ...l, ...used }];
  });
  if (values.json) {
    const rows = now.map((l) => ({ kind: l.kind, id: l.id, workspace: l.workspace, pid: l.pid, processes: l.processes, cpu_percent: round(l.cpuPercent), rss_bytes: l.rssBytes, command: l.command }));
    process.stdout.write(`${JSON.stringify(rows)}\n`);
    return 0;
  }
  if (now.length === 0) {
    process.stdout.write("nothing live: no exec, terminal or session run is running\n");
    return 0;
  }
  const label = await workspaceLabels(client);
  printTable(
    ["KIND", "ID", "WORKSPACE", "PID", "PROCS", "CPU", "MEM", "COMMAND"],
    now.map((l: Live & Usage) => [l.kind, l.id, label(l.workspace), String(l.pid), String(l.processes), `${round(l.cpuPercent)}%`, formatBytes(l.rssBytes), l.command]),
  );
  return 0;
}

/** The workspace whose live runs name session `session`'s run `run`. */
function runWorkspace(workspaces: readonly { id: string; liveRunNames: readonly string[] }[], session: string, run: number): string {
  return workspaces.find((w) => w.liveRunNames.includes(`sessions/${session}/runs/${run}`))?.id ?? "";
}

function round(percent: number): number {
  return Math.round(percent * 10) / 10;
}
