import { parseCommandLine } from "../command-line.js";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { ExecStatus, type Exec } from "../../gen/tether/v1/exec_pb.js";
import { ExecService } from "../../gen/tether/v1/exec_service_pb.js";
import { queuedWords } from "./exec-list.js";
import { PtyService } from "../../gen/tether/v1/pty_service_pb.js";
import { Materialization, SandboxProfile, WorkspaceState, type Workspace } from "../../gen/tether/v1/workspace_pb.js";
import { WorkspaceService } from "../../gen/tether/v1/workspace_service_pb.js";
import { CliError, unknownSubcommand, usageError } from "../cli-error.js";
import { enumName } from "../enum-names.js";
import { envFromFlags, parseDurationFlag, parsePairs } from "../flags.js";
import { commandLine, escapeControls, formatDuration, printTable } from "../../common/format.js";
import { isoTime } from "../iso-time.js";
import { type ClientPaths, absolutePath, workspaceArg } from "../paths.js";
import { liveRuns } from "../session-runs.js";
import { connectToDaemon } from "../transport.js";
import { readyWord } from "../readiness-flags.js";
import { LISTING_FLAGS, printedAs } from "../listing-flags.js";
import { listAllWorkspaces } from "../workspace-list.js";

export const WS_USAGE = `  tether ws create NAME [--path DIR | --copy DIR] [--sandbox host|bwrap] [--no-network] [--label k=v ...] [--env K=V|K ...] [--dotenv F ...]
                                              a workspace: a new directory, or DIR adopted (never deleted by tether;
                                              without NAME, named after DIR); --env, --dotenv (as exec's): variables
                                              every exec, PTY and session run in it gets (their own env over them);
                                              --copy DIR: a new directory that starts as a copy of DIR (cp -a: a
                                              throwaway copy of a repository to work on, in a bwrap sandbox say)
  tether ws ls [--all] [--label k=v|k ...] [--json | -q]
                                              workspaces, oldest first (--all: removed ones too;
                                              --label: those with label k set to v, or set at all;
                                              -q/--quiet: their ids alone)
  tether ws show WS [--json]                  root, sandbox, live state, live execs, PTYs and session runs, labels
  tether ws label WS k=v ... [--remove k ...]  set or remove labels
  tether ws env WS [K=V|K ...] [--dotenv F ...] [--remove K ...]
                                              set or remove its env variables (for processes started after), and print them
  tether ws stop WS [--grace 5s]              terminate every live process in it; the workspace stays
  tether ws rm WS [--force [--grace 5s]]      remove it with its execs and PTYs (refused while work is live unless --force,
                                              which stops it first: SIGTERM, SIGKILL after the grace)`;

/** `tether ws ...`: create, list, show, label, stop and remove workspaces. */
export async function wsCommand(args: string[], paths: ClientPaths): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case "create":
      return create(rest, paths);
    case "ls":
      return list(rest, paths);
    case "show":
      return show(rest, paths);
    case "label":
      return label(rest, paths);
    case "env":
      return setEnv(rest, paths);
    case "stop":
      return stop(rest, paths);
    case "rm":
      return remove(rest, paths);
    default:
      throw unknownSubcommand("tether ws", sub, ["create", "ls", "show", "label", "env", "stop", "rm"], `usage:\n${WS_USAGE}`);
  }
}

async function create(args: string[], paths: ClientPaths): Promise<number> {
  const { values, positionals } = parseCommandLine({
    args,
    allowPositionals: true,
    options: {
      path: { type: "string" },
      copy: { type: "string" },
      sandbox: { type: "string", default: "host" },
      "no-network": { type: "boolean", default: false },
      label: { type: "string", multiple: true, default: [] },
      env: { type: "string", short: "e", multiple: true, default: [] },
      dotenv: { type: "string", multiple: true, default: [] },
      json: { type: "boolean", default: false },
    },
  });
  // An adopted directory may go unnamed: it is named after itself.
  if (positionals.length > 1 || (positionals.length === 0 && values.path === undefined)) throw usageError(WS_USAGE, "tether ws create");
  const sandbox = { host: SandboxProfile.HOST, bwrap: SandboxProfile.BWRAP }[values.sandbox];
  if (sandbox === undefined) throw new CliError(`--sandbox takes host or bwrap, got ${JSON.stringify(values.sandbox)}`, 2);
  if (values.copy !== undefined && values.path !== undefined) throw new CliError("--path adopts a directory as it is, and --copy makes a new one from a copy: give one of them", 2);
  const { client } = await connectToDaemon(paths);
  const { workspace } = await client.unary(WorkspaceService.method.createWorkspace, {
    displayName: positionals[0] ?? "",
    root: values.path === undefined ? "" : absolutePath(values.path),
    sandbox,
    noNetwork: values["no-network"],
    labels: parsePairs("--label", values.label),
    env: envFromFlags({ env: values.env, dotenv: values.dotenv, "inherit-env": false }),
    copyFrom: values.copy === undefined ? "" : absolutePath(values.copy),
  });
  if (values.json) process.stdout.write(`${JSON.stringify(workspaceJson(workspace!))}\n`);
  else process.stdout.write(`${workspace!.id} ${workspace!.displayName} ${escapeControls(workspace!.root)}\n`);
  return 0;
}

async function list(args: string[], paths: ClientPaths): Promise<number> {
  const { values } = parseCommandLine({
    args,
    options: { all: { type: "boolean", default: false }, label: { type: "string", short: "l", multiple: true, default: [] }, ...LISTING_FLAGS },
  });
  const { client } = await connectToDaemon(paths);
  const workspaces = await listAllWorkspaces(client, values.all, values.label);
  if (printedAs(values, workspaces, (w) => w.id, workspaceJson)) return 0;
  const now = Date.now();
  printTable(
    ["WORKSPACE", "NAME", "SANDBOX", "STATE", "LIVE", "CREATED", "ROOT"],
    workspaces.map((ws) => [
      ws.id,
      ws.displayName,
      enumName(SandboxProfile, ws.sandbox) + (ws.noNetwork ? ",no-network" : ""),
      ws.state === WorkspaceState.ARCHIVED ? "removed" : enumName(Materialization, ws.materialization),
      liveSummary(ws),
      ws.createTime === undefined ? "" : `${formatDuration(now - timestampMs(ws.createTime))} ago`,
      ws.root,
    ]),
  );
  return 0;
}

async function show(args: string[], paths: ClientPaths): Promise<number> {
  const { values, positionals } = parseCommandLine({ args, allowPositionals: true, options: { json: { type: "boolean", default: false } } });
  if (positionals.length !== 1) throw usageError(WS_USAGE, "tether ws show");
  const { client } = await connectToDaemon(paths);
  const { workspace } = await client.unary(WorkspaceService.method.getWorkspace, { workspace: workspaceArg(positionals[0]!) });
  const ws = workspace!;
  // Not ended: running, or waiting in a queue (exec --queue), which has no process yet.
  const notEnded = (await client.unary(ExecService.method.listExecs, { workspace: ws.id, runningOnly: true, pageSize: 1000 })).execs;
  const execs = notEnded.filter((e) => e.status === ExecStatus.RUNNING);
  const queued = notEnded.filter((e) => e.status === ExecStatus.QUEUED).reverse(); // oldest first: in their turns
  const { ptys } = await client.unary(PtyService.method.listPtys, { workspace: ws.id, openOnly: true, pageSize: 1000 });
  const runs = await liveRuns(client, ws.liveRunNames);
  if (values.json) {
    const liveExecs = execs.map((e) => ({ id: e.id, name: e.displayName || null, pid: e.pid, argv: e.argv }));
    const livePtys = ptys.map((p) => ({ id: p.id, name: p.displayName || null, pid: p.pid, argv: p.argv, attached_clients: p.attachedClients }));
    const runsJson = runs.map(({ session, run }) => ({ session, run: run.number, task: run.task, pid: run.pid, command: run.command }));
    const queuedExecs = queued.map((e) => ({ id: e.id, name: e.displayName || null, queue: e.queue, argv: e.argv }));
    process.stdout.write(`${JSON.stringify({ ...workspaceJson(ws), live_execs: liveExecs, queued_execs: queuedExecs, live_ptys: livePtys, live_runs: runsJson })}\n`);
    return 0;
  }
  const lines = [
    `workspace   ${ws.id} (${ws.displayName})`,
    `root        ${escapeControls(ws.root)}${ws.adopted ? " (adopted: tether never deletes its files)" : ""}`,
    `sandbox     ${enumName(SandboxProfile, ws.sandbox)}${ws.noNetwork ? ", no network" : ""}`,
    `state       ${enumName(WorkspaceState, ws.state)}, ${enumName(Materialization, ws.materialization)}`,
    `live        ${liveSummary(ws) || "nothing"}`,
    `labels      ${Object.entries(ws.labels).map(([k, v]) => `${k}=${v}`).join(" ") || "(none)"}`,
    ...(Object.keys(ws.env).length === 0 ? [] : [`env         ${envText(ws.env)}`]),
    `created     ${ws.createTime === undefined ? "" : new Date(timestampMs(ws.createTime)).toISOString()}`,
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
  if (execs.length > 0) {
    process.stdout.write("\nlive execs:\n");
    // A READY column once one has readiness checks (exec --ready-http ...), as exec ls marks them.
    const checked = execs.some((e) => e.readiness !== undefined);
    const ready = (e: (typeof execs)[number]): string[] => (checked ? [readyWord(e)] : []);
    printTable(["EXEC", "NAME", "PID", ...(checked ? ["READY"] : []), "STARTED", "COMMAND"], execs.map((e) => [e.id, e.displayName, `${e.pid}${e.paused ? " (paused)" : ""}`, ...ready(e), startedAgo(e), commandLine(e.argv)]));
  }
  if (queued.length > 0) {
    process.stdout.write("\nqueued execs:\n");
    printTable(["EXEC", "NAME", "WAITS", "COMMAND"], queued.map((e) => [e.id, e.displayName, queuedWords(e).trim(), commandLine(e.argv)]));
  }
  if (ptys.length > 0) {
    process.stdout.write("\nopen PTYs:\n");
    printTable(["PTY", "NAME", "PID", "SIZE", "CLIENTS", "COMMAND"], ptys.map((p) => [p.id, p.displayName, String(p.pid), `${p.size?.cols ?? 0}x${p.size?.rows ?? 0}`, String(p.attachedClients), commandLine(p.argv)]));
  }
  if (runs.length > 0) {
    process.stdout.write("\nlive session runs:\n");
    printTable(["SESSION", "RUN", "TASK", "PID", "COMMAND"], runs.map(({ session, run }) => [session, String(run.number), run.task, String(run.pid), run.command.split("\n")[0]!]));
  }
  return 0;
}

/** The live runs named (sessions/{s}/runs/{n}) with their task and command, read with one ListRuns per session; a run that ended meanwhile is left out. */
async function label(args: string[], paths: ClientPaths): Promise<number> {
  const { values, positionals } = parseCommandLine({ args, allowPositionals: true, options: { remove: { type: "string", multiple: true, default: [] } } });
  if (positionals.length < 1) throw usageError(WS_USAGE, "tether ws label");
  const [ref, ...pairs] = positionals as [string, ...string[]];
  const { client } = await connectToDaemon(paths);
  const { workspace } = await client.unary(WorkspaceService.method.updateWorkspace, { workspace: workspaceArg(ref), setLabels: parsePairs("label", pairs), removeLabels: values.remove });
  process.stdout.write(`${Object.entries(workspace!.labels).map(([k, v]) => `${k}=${v}`).join(" ") || "(no labels)"}\n`);
  return 0;
}

/** `tether ws env WS K=V... --remove K`: its env, changed for processes started after; prints it as it is then. */
async function setEnv(args: string[], paths: ClientPaths): Promise<number> {
  const { values, positionals } = parseCommandLine({
    args,
    allowPositionals: true,
    options: { remove: { type: "string", multiple: true, default: [] }, dotenv: { type: "string", multiple: true, default: [] } },
  });
  if (positionals.length < 1) throw usageError(WS_USAGE, "tether ws env");
  const [ref, ...pairs] = positionals as [string, ...string[]];
  const setEnv = envFromFlags({ env: pairs, dotenv: values.dotenv, "inherit-env": false });
  const { client } = await connectToDaemon(paths);
  const change = { workspace: workspaceArg(ref), setEnv, removeEnv: values.remove };
  const { workspace } = pairs.length === 0 && values.dotenv.length === 0 && values.remove.length === 0 ? await client.unary(WorkspaceService.method.getWorkspace, { workspace: change.workspace }) : await client.unary(WorkspaceService.method.updateWorkspace, change);
  const env = Object.entries(workspace!.env).sort(([a], [b]) => a.localeCompare(b));
  process.stdout.write(env.length === 0 ? "(no env)\n" : env.map(([k, v]) => `${k}=${escapeControls(v)}\n`).join(""));
  return 0;
}

/** A workspace's env on one line, as ws show gives it: each K=V, values quoted where they hold blanks. */
function envText(env: Readonly<Record<string, string>>): string {
  return Object.entries(env)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${/[\s"']/.test(v) ? JSON.stringify(v) : escapeControls(v)}`)
    .join(" ");
}

async function stop(args: string[], paths: ClientPaths): Promise<number> {
  const { values, positionals } = parseCommandLine({ args, allowPositionals: true, options: { grace: { type: "string" } } });
  if (positionals.length !== 1) throw usageError(WS_USAGE, "tether ws stop");
  const { client } = await connectToDaemon(paths);
  const grace = values.grace === undefined ? undefined : parseDurationFlag("--grace", values.grace);
  const { workspace, stopped } = await client.unary(WorkspaceService.method.stopWorkspace, { workspace: workspaceArg(positionals[0]!), grace });
  process.stdout.write(`${workspace!.displayName}: stopped ${stopped} process${stopped === 1 ? "" : "es"}\n`);
  return 0;
}

async function remove(args: string[], paths: ClientPaths): Promise<number> {
  const { values, positionals } = parseCommandLine({ args, allowPositionals: true, options: { force: { type: "boolean", short: "f", default: false }, grace: { type: "string" } } });
  if (positionals.length !== 1) throw usageError(WS_USAGE, "tether ws rm");
  if (values.grace !== undefined && !values.force) throw new CliError("--grace is how long --force gives live processes after SIGTERM: add --force", 2);
  const grace = values.grace === undefined ? undefined : parseDurationFlag("--grace", values.grace);
  const { client } = await connectToDaemon(paths);
  const { workspace } = await client.unary(WorkspaceService.method.deleteWorkspace, { workspace: workspaceArg(positionals[0]!), force: values.force, grace });
  const ws = workspace!;
  process.stdout.write(`removed ${ws.displayName} (${ws.id})${ws.adopted ? `; its files in ${escapeControls(ws.root)} are untouched` : ""}\n`);
  return 0;
}

function liveSummary(ws: Workspace): string {
  const parts: string[] = [];
  if (ws.liveExecs > 0) parts.push(`${ws.liveExecs} exec${ws.liveExecs === 1 ? "" : "s"}`);
  if (ws.livePtys > 0) parts.push(`${ws.livePtys} pty${ws.livePtys === 1 ? "" : "s"}`);
  if (ws.liveRuns > 0) parts.push(`${ws.liveRuns} run${ws.liveRuns === 1 ? "" : "s"}`);
  return parts.join(", ");
}

function startedAgo(exec: Exec): string {
  return exec.createTime === undefined ? "" : `${formatDuration(Date.now() - timestampMs(exec.createTime))} ago`;
}

function workspaceJson(ws: Workspace): Record<string, unknown> {
  return {
    id: ws.id,
    name: ws.displayName,
    root: ws.root,
    adopted: ws.adopted,
    sandbox: enumName(SandboxProfile, ws.sandbox),
    no_network: ws.noNetwork,
    state: enumName(WorkspaceState, ws.state),
    materialization: enumName(Materialization, ws.materialization),
    live: { execs: ws.liveExecs, ptys: ws.livePtys, runs: ws.liveRuns },
    labels: ws.labels,
    env: ws.env,
    created_at: isoTime(ws.createTime),
  };
}
