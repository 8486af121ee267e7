import { timestampMs, type Timestamp } from "@bufbuild/protobuf/wkt";
import { parseCommandLine } from "../command-line.js";
import { RunStatus, SessionActivity, SessionStatus, type Run } from "../../gen/tether/v1/session_pb.js";
import { escapeControls, formatBytes } from "../../common/format.js";
import { SessionService } from "../../gen/tether/v1/session_service_pb.js";
import { StreamDirection } from "../../gen/tether/v1/stream_pb.js";
import { CliError } from "../cli-error.js";
import { parseDurationFlag } from "../flags.js";
import { enumName } from "../enum-names.js";
import type { ClientPaths } from "../paths.js";
import { sessionDetailJson } from "../session-json.js";
import { sessionRuns, waitForSession } from "../session-runs.js";
import { connectToDaemon } from "../transport.js";

export const SHOW_USAGE = `  tether show S [--json] [--wait [--ready] [--timeout 30m]]
                                              a session: inputs, status, result or error, runs and their state log, xcom;
                                              --wait: once it has an outcome (its graph finished, or it ended), as docker
                                              wait, exiting with its exit code (124: none by --timeout); --ready: once
                                              its main task is a ready service (a dev server that answers) or its graph
                                              finished well, as compose up --wait (exit 1 if it will not be)`;

/** `tether show S`: everything the daemon knows about a session, the state log included. */
export async function showCommand(args: string[], paths: ClientPaths): Promise<number> {
  const { values, positionals } = parseCommandLine({
    args,
    allowPositionals: true,
    options: { json: { type: "boolean", default: false }, wait: { type: "boolean", default: false }, ready: { type: "boolean", default: false }, timeout: { type: "string" } },
  });
  if (positionals.length !== 1) throw new CliError(`usage:\n${SHOW_USAGE}`, 2);
  if (values.timeout !== undefined && !values.wait) throw new CliError("--timeout is how long --wait waits: add --wait", 2);
  if (values.ready && !values.wait) throw new CliError("--ready says what --wait waits for: add --wait", 2);
  const timeout = values.timeout === undefined ? undefined : parseDurationFlag("--timeout", values.timeout);
  const name = `sessions/${positionals[0]}`;
  const { client } = await connectToDaemon(paths);
  const s = values.wait ? await waitForSession(client, { name, timeout, untilReady: values.ready }, positionals[0]!) : (await client.unary(SessionService.method.getSession, { name })).session!;
  const runs = await sessionRuns(client, s.name);
  // With --wait, the outcome is the command's, as a followed run's; --ready's is that it is ready.
  const exitCode = values.wait && !values.ready ? s.exitCode : 0;
  if (values.json) {
    process.stdout.write(`${JSON.stringify(sessionDetailJson(s, runs))}\n`);
    return exitCode;
  }
  const out = [
    `session   ${s.id}${s.externalId !== "" ? `  (external id ${s.externalId})` : ""}${s.rerunOf !== "" ? `  (a rerun of ${s.rerunOf})` : ""}`,
    `task      ${s.task}  (${escapeControls(s.taskFile)})`,
    `workspace ${s.workspace.replace(/^workspaces\//, "") || "(none)"}  (${escapeControls(s.workingDirectory)})${taskWorkspaces(s.taskWorkspaces)}`,
    `status    ${enumName(SessionStatus, s.status)}${s.status === SessionStatus.OPEN ? `, ${enumName(SessionActivity, s.activity)}${s.paused ? ` (paused: tether resume ${s.id})` : ""}${s.unhealthy ? " (unhealthy: a service's checks fail, see its run)" : ""}${s.waitingFor !== "" ? ` (waiting for ${s.waitingFor})` : ""}` : ""}`,
    `created   ${time(s.createTime)}${s.startAt !== undefined ? `, to start at ${time(s.startAt)}` : ""}${s.after.length > 0 ? `, to start after ${s.after.join(", ")}` : ""}${startedLate(s.startAt, s.after, runs)}${s.endTime !== undefined ? `, ended ${time(s.endTime)}` : ""}`,
  ];
  const inputs = Object.entries(s.inputs).sort(([a], [b]) => a.localeCompare(b));
  if (inputs.length > 0) out.push(`inputs    ${inputs.map(([k, v]) => `${k}=${v}`).join(" ")}`);
  const labels = Object.entries(s.labels).sort(([a], [b]) => a.localeCompare(b));
  if (labels.length > 0) out.push(`labels    ${labels.map(([k, v]) => escapeControls(`${k}=${v}`)).join(" ")}`);
  if (s.outputMaxBytes > 0n) out.push(`output    keeps the last ${formatBytes(Number(s.outputMaxBytes))}, from offset ${s.outputFirstOffset}`);
  if (s.status !== SessionStatus.OPEN || s.graphFinished || s.error !== "" || s.result !== "") out.push(`exit code ${s.exitCode}`);
  if (s.result !== "") out.push(`result    ${s.result}`);
  if (s.error !== "") out.push(`error     ${s.error}`);
  out.push("", "runs");
  for (const run of runs) {
    const exit = run.exitCode !== undefined ? `, exit ${run.exitCode}` : "";
    out.push(`  ${run.number}  ${run.task}  attempt ${run.attempt}  ${enumName(RunStatus, run.status)}${run.paused ? ` (paused: tether resume ${s.id})` : ""}${exit}${run.reason !== "" ? `: ${run.reason}` : ""}`);
    if (run.command !== "") out.push(`       $ ${run.command.trimEnd().split("\n").join("\n         ")}`);
    for (const t of run.transitions) out.push(`       ${time(t.time)}  ${enumName(RunStatus, t.status)}${t.reason !== "" ? `  ${t.reason}` : ""}`);
  }
  if (s.streams.length > 0) {
    out.push("", "streams");
    for (const st of s.streams) {
      const dropped = st.firstSequence > 1n ? `, the last kept from ${st.firstSequence}` : "";
      out.push(`  ${st.name.padEnd(16)} ${st.direction === StreamDirection.INPUT ? "input " : "output"}  ${st.nextSequence - 1n} record(s)${dropped}`);
    }
  }
  if (s.xcom.length > 0) {
    out.push("", "xcom");
    for (const x of s.xcom) out.push(`  ${x.key} = ${JSON.stringify(x.value)}`);
  }
  process.stdout.write(`${out.join("\n")}\n`);
  return exitCode;
}

/** The tasks that run in a workspace of their own, after the session's: "; build in w-x". */
function taskWorkspaces(byTask: Readonly<Record<string, string>>): string {
  const entries = Object.entries(byTask).map(([task, ws]) => `${task} in ${ws.replace(/^workspaces\//, "")}`);
  return entries.length === 0 ? "" : `; ${entries.join(", ")}`;
}

/** When the graph of a session given a start time or sessions to start after did start (its runs' first move past pending): ", started ...", or "" (not yet, or neither given). */
function startedLate(startAt: Timestamp | undefined, after: readonly string[], runs: readonly Run[]): string {
  if (startAt === undefined && after.length === 0) return "";
  const moved = runs.flatMap((run) => run.transitions.filter((t) => t.status !== RunStatus.PENDING && t.time !== undefined).map((t) => timestampMs(t.time!)));
  return moved.length === 0 ? "" : `, started ${new Date(moved.reduce((a, b) => Math.min(a, b))).toISOString()}`;
}

function time(ts: Timestamp | undefined): string {
  return ts === undefined ? "-" : new Date(timestampMs(ts)).toISOString();
}
