import { create, toBinary } from "@bufbuild/protobuf";
import { durationFromMs, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { ExecExitSchema, ExecOutputSchema, ExecSchema, ExecStatus, OutputStream, RestartMode, type Exec, type ExecExit, type ExecOutput, type RestartPolicy as RestartPolicyProto } from "../../gen/tether/v1/exec_pb.js";
import { AttachExecResponseSchema, ExecResponseSchema, type AttachExecResponse, type ExecResponse } from "../../gen/tether/v1/exec_service_pb.js";
import { AttachPtyResponseSchema, PtyOutputSchema, ReadPtyResponseSchema, type AttachPtyResponse, type PtyOutput, type ReadPtyResponse } from "../../gen/tether/v1/pty_service_pb.js";
import { Materialization, SandboxProfile, WorkspaceSchema, WorkspaceState, type Workspace } from "../../gen/tether/v1/workspace_pb.js";
import { PtySchema, PtyState, SizePolicy, type Pty } from "../../gen/tether/v1/pty_pb.js";
import { invalidArgument } from "../errors.js";
import type { OutputPiece } from "../process/output-tap.js";
import { withDataLast, type VarintField } from "./encoded-messages.js";
import { readinessToProto } from "./readiness-proto.js";
import type * as domain from "../workspaces/types.js";
import type { RestartPolicy } from "../workspaces/exec-restarts.js";
import { execPaused } from "../workspaces/exec-records.js";

// Workspace and exec resources in proto form: the one place their enums are mapped.

const RESTART_MODES: Readonly<Record<RestartPolicy["mode"], RestartMode>> = { "on-failure": RestartMode.ON_FAILURE, always: RestartMode.ALWAYS };

export const SANDBOXES: Readonly<Record<domain.SandboxProfile, SandboxProfile>> = {
  host: SandboxProfile.HOST,
  bwrap: SandboxProfile.BWRAP,
};
const STATES: Readonly<Record<domain.WorkspaceState, WorkspaceState>> = {
  active: WorkspaceState.ACTIVE,
  archived: WorkspaceState.ARCHIVED,
};
const MATERIALIZATIONS: Readonly<Record<domain.Materialization, Materialization>> = {
  stopped: Materialization.STOPPED,
  live: Materialization.LIVE,
  stopping: Materialization.STOPPING,
};
const EXEC_STATUSES: Readonly<Record<domain.ExecStatus, ExecStatus>> = {
  running: ExecStatus.RUNNING,
  exited: ExecStatus.EXITED,
  signalled: ExecStatus.SIGNALLED,
  "failed-to-start": ExecStatus.FAILED_TO_START,
  lost: ExecStatus.LOST,
  queued: ExecStatus.QUEUED,
  cancelled: ExecStatus.CANCELLED,
};

export function sandboxFromProto(sandbox: SandboxProfile): domain.SandboxProfile {
  if (sandbox === SandboxProfile.UNSPECIFIED) return "host";
  const name = (Object.keys(SANDBOXES) as domain.SandboxProfile[]).find((k) => SANDBOXES[k] === sandbox);
  if (name === undefined) throw invalidArgument("sandbox", `unknown sandbox profile ${sandbox}: use host or bwrap`);
  return name;
}

export function workspaceToProto(ws: domain.WorkspaceView): Workspace {
  return create(WorkspaceSchema, {
    name: `workspaces/${ws.id}`,
    id: ws.id,
    displayName: ws.name,
    root: ws.root,
    adopted: ws.adopted,
    sandbox: SANDBOXES[ws.sandbox],
    noNetwork: ws.noNetwork,
    labels: ws.labels,
    env: ws.env,
    state: STATES[ws.state],
    materialization: MATERIALIZATIONS[ws.materialization],
    liveExecs: ws.live.execs,
    livePtys: ws.live.ptys,
    liveRuns: ws.live.runs,
    liveRunNames: [...ws.live.runNames],
    createTime: timestampFromMs(ws.createdAt),
    deleteTime: ws.deletedAt === undefined ? undefined : timestampFromMs(ws.deletedAt),
  });
}

/** An exec with how much of its output is kept (ExecReads.bounds). */
export function execToProto(exec: domain.ExecRecord, execs: { readonly output: { bounds(id: string): { firstOffset: number; maxBytes: number } } }): Exec {
  const { firstOffset, maxBytes } = execs.output.bounds(exec.id);
  return create(ExecSchema, {
    name: `workspaces/${exec.workspaceId}/execs/${exec.id}`,
    id: exec.id,
    workspace: exec.workspaceId,
    argv: [...exec.argv],
    cwd: exec.cwd,
    envKeys: [...exec.envKeys],
    tty: exec.tty,
    status: EXEC_STATUSES[exec.status],
    pid: exec.status === "running" ? (exec.pid ?? 0) : 0,
    exitCode: exec.exitCode ?? 0,
    signal: exec.signal ?? "",
    error: exec.error ?? "",
    stdoutBytes: BigInt(exec.stdoutBytes),
    stderrBytes: BigInt(exec.stderrBytes),
    createTime: timestampFromMs(exec.createdAt),
    endTime: exec.endedAt === undefined ? undefined : timestampFromMs(exec.endedAt),
    outputMaxBytes: BigInt(maxBytes),
    firstOffset: BigInt(firstOffset),
    displayName: exec.name ?? "",
    restartPolicy: exec.restartPolicy === undefined ? undefined : { mode: RESTART_MODES[exec.restartPolicy.mode], maxRestarts: exec.restartPolicy.maxRestarts },
    restartCount: exec.restarts,
    labels: { ...exec.labels },
    restartTime: exec.restartAt === undefined ? undefined : timestampFromMs(exec.restartAt),
    timeout: exec.timeoutMs === 0 ? undefined : durationFromMs(exec.timeoutMs),
    queue: exec.queue ?? "",
    after: [...exec.after],
    startAt: exec.startAt === undefined ? undefined : timestampFromMs(exec.startAt),
    startTime: exec.status === "queued" || exec.status === "cancelled" ? undefined : timestampFromMs(exec.startedAt ?? exec.createdAt),
    readiness: exec.readiness === undefined ? undefined : readinessToProto(exec.readiness),
    readyTime: exec.readyAt === undefined ? undefined : timestampFromMs(exec.readyAt),
    readinessError: exec.readinessError ?? "",
    priority: exec.priority,
    paused: execPaused(exec),
  });
}

export const SIZE_POLICIES: Readonly<Record<domain.SizePolicy, SizePolicy>> = {
  latest: SizePolicy.LATEST,
  smallest: SizePolicy.SMALLEST,
};

export function sizePolicyFromProto(policy: SizePolicy): domain.SizePolicy {
  if (policy === SizePolicy.UNSPECIFIED) return "latest";
  const name = (Object.keys(SIZE_POLICIES) as domain.SizePolicy[]).find((k) => SIZE_POLICIES[k] === policy);
  if (name === undefined) throw invalidArgument("size_policy", `unknown size policy ${policy}: use latest or smallest`);
  return name;
}

/** A PTY with what only the live daemon knows: attached clients and output bounds. */
export function ptyToProto(pty: domain.PtyRecord, attachedClients: number, bounds: { nextOffset: number; firstOffset: number }): Pty {
  const open = pty.status === "running";
  return create(PtySchema, {
    name: `workspaces/${pty.workspaceId}/ptys/${pty.id}`,
    id: pty.id,
    workspace: pty.workspaceId,
    argv: [...pty.argv],
    cwd: pty.cwd,
    displayName: pty.name ?? "",
    labels: { ...pty.labels },
    size: { cols: pty.size.cols, rows: pty.size.rows },
    sizePolicy: SIZE_POLICIES[pty.sizePolicy],
    state: open ? PtyState.OPEN : PtyState.CLOSED,
    exit: open ? undefined : execExitToProto(pty),
    pid: open ? (pty.pid ?? 0) : 0,
    attachedClients,
    outputBytes: BigInt(bounds.nextOffset),
    firstOffset: BigInt(bounds.firstOffset),
    createTime: timestampFromMs(pty.createdAt),
    endTime: pty.endedAt === undefined ? undefined : timestampFromMs(pty.endedAt),
    lastAttachTime: !open || pty.attachedAt === undefined ? undefined : timestampFromMs(pty.attachedAt),
  });
}

export function execExitToProto(exec: Pick<domain.ExecRecord, "status" | "exitCode" | "signal" | "error">): ExecExit {
  return create(ExecExitSchema, { status: EXEC_STATUSES[exec.status], exitCode: exec.exitCode ?? 0, signal: exec.signal ?? "", error: exec.error ?? "" });
}

/**
 * An Exec response carrying one output chunk, its encoding made with the
 * chunk's bytes copied once (encoded-messages.ts): an exec streams every
 * byte its process writes through here.
 */
export function execOutputResponse(chunk: OutputPiece): ExecResponse {
  const { output, rest } = execOutput(chunk);
  const response = create(ExecResponseSchema, { kind: { case: "output", value: output } });
  return withDataLast(response, ExecResponseSchema.field.output.number, rest, ExecOutputSchema.field.data.number, chunk.data);
}

/** An AttachExec response carrying one output chunk, encoded as execOutputResponse's. */
export function attachExecOutputResponse(chunk: OutputPiece): AttachExecResponse {
  const { output, rest } = execOutput(chunk);
  const response = create(AttachExecResponseSchema, { kind: { case: "output", value: output } });
  return withDataLast(response, AttachExecResponseSchema.field.output.number, rest, ExecOutputSchema.field.data.number, chunk.data);
}

/** The chunk as an ExecOutput, and its fields but the data, to encode by hand (see dataLastParts). */
function execOutput(chunk: OutputPiece): { output: ExecOutput; rest: Uint8Array | VarintField[] } {
  const stream = chunk.fd === 2 ? OutputStream.STDERR : OutputStream.STDOUT;
  const streamOffset = chunk.fdEnd - chunk.data.byteLength;
  const createTime = chunk.createdAt === undefined ? undefined : timestampFromMs(chunk.createdAt);
  const output = create(ExecOutputSchema, { stream, offset: BigInt(chunk.offset), streamOffset: BigInt(streamOffset), data: chunk.data, createTime });
  if (createTime !== undefined) return { output, rest: toBinary(ExecOutputSchema, { ...output, data: new Uint8Array(0) }) };
  const { field } = ExecOutputSchema;
  const rest: VarintField[] = [
    [field.stream.number, stream],
    [field.offset.number, chunk.offset],
    [field.streamOffset.number, streamOffset],
  ];
  return { output, rest };
}

/**
 * An AttachPty response carrying one output chunk, encoded as
 * execOutputResponse's. Built as the plain objects protobuf-es's create()
 * makes for these proto3 messages (the types hold every field): create()
 * cost a keystroke's echo microseconds more.
 */
export function ptyOutputResponse(chunk: OutputPiece): AttachPtyResponse {
  const response: AttachPtyResponse = { $typeName: "tether.v1.AttachPtyResponse", kind: { case: "output", value: ptyOutput(chunk) } };
  return withPtyOutputLast(response, AttachPtyResponseSchema.field.output.number, chunk);
}

/** A ReadPty response carrying one output chunk, encoded as ptyOutputResponse's. */
export function readPtyOutputResponse(chunk: OutputPiece): ReadPtyResponse {
  const response: ReadPtyResponse = { $typeName: "tether.v1.ReadPtyResponse", kind: { case: "output", value: ptyOutput(chunk) } };
  return withPtyOutputLast(response, ReadPtyResponseSchema.field.output.number, chunk);
}

function ptyOutput(chunk: OutputPiece): PtyOutput {
  return { $typeName: "tether.v1.PtyOutput", data: chunk.data, offset: BigInt(chunk.offset) };
}

/** The response's PtyOutput (field `field`) encoded by hand, its data last (see dataLastParts). */
function withPtyOutputLast<M extends AttachPtyResponse | ReadPtyResponse>(response: M, field: number, chunk: OutputPiece): M {
  return withDataLast(response, field, [[PtyOutputSchema.field.offset.number, chunk.offset]], PtyOutputSchema.field.data.number, chunk.data);
}

/** An ExecStart's restart policy; unset or unspecified: none. */
export function restartPolicyFromProto(policy: RestartPolicyProto | undefined): RestartPolicy | undefined {
  if (policy === undefined) return undefined;
  switch (policy.mode) {
    case RestartMode.ON_FAILURE:
      return { mode: "on-failure", maxRestarts: policy.maxRestarts };
    case RestartMode.ALWAYS:
      if (policy.maxRestarts !== 0) throw invalidArgument("restart_policy", "max_restarts goes with on-failure, as docker's --restart on-failure:N: always restarts without a limit");
      return { mode: "always", maxRestarts: 0 };
    case RestartMode.UNSPECIFIED:
      return undefined;
    default:
      throw invalidArgument("restart_policy", `restart mode ${policy.mode} is unknown: use RESTART_MODE_ON_FAILURE or RESTART_MODE_ALWAYS`);
  }
}
