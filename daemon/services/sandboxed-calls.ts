import { Code } from "@connectrpc/connect";
import type { ServiceImpl } from "@connectrpc/connect";
import type { DescService } from "@bufbuild/protobuf";
import { TetherError } from "../errors.js";
import { RUN_TOKEN_HEADER } from "../../common/run-token.js";
import type { RunTokens } from "../sessions/run-tokens.js";
import type { AnyHandler, ServiceRegistration } from "./registration.js";

/**
 * What a command in a bwrap workspace may call, by service: reads, and what
 * a session's run does with tether in its own session (output, waits,
 * input, xcom: SESSION_WRITES). Anything else starts, signals, types into
 * or removes something outside the sandbox (an exec on the host, a session,
 * a PTY, a workspace's removal), which would let the command leave it. A
 * service not listed here (one added later included) is refused whole until
 * it is listed.
 */
const SANDBOX_ALLOWED: Readonly<Record<string, readonly string[]>> = {
  "tether.v1.DaemonService": ["GetDaemonInfo"],
  "tether.v1.JournalService": ["GetJournal", "ListJournals", "ReadJournal"],
  "tether.v1.TaskService": ["ListTasks", "GetTask"],
  "tether.v1.SessionService": ["GetSession", "ListSessions", "ListRuns", "ReadSessionLogs", "WatchSession", "WaitSession", "GetXcom", "SetXcom"],
  "tether.v1.StreamService": ["SendInput", "WriteOutput", "ReadStream", "WaitForInput"],
  "tether.v1.WorkspaceService": ["GetWorkspace", "ListWorkspaces"],
  "tether.v1.ExecService": ["AttachExec", "GetExec", "ListExecs", "WaitExec", "ListExecQueues"],
  "tether.v1.PtyService": ["GetPty", "ListPtys"],
  "grpc.reflection.v1.ServerReflection": ["ServerReflectionInfo"],
  "grpc.reflection.v1alpha.ServerReflection": ["ServerReflectionInfo"],
};

/**
 * Of the allowed methods, those that write to a session (its streams, a
 * wait's take, its xcom): on the sandbox's socket each needs the token of a
 * live run of the session it names (RunTokens), so an untrusted step can
 * neither answer another session's wait nor feed it input.
 */
const SESSION_WRITES = new Set(["tether.v1.StreamService/SendInput", "tether.v1.StreamService/WriteOutput", "tether.v1.StreamService/WaitForInput", "tether.v1.SessionService/SetXcom"]);

/**
 * Of the allowed methods, those that answer with workspaces: a sandbox gets
 * them without their env, which may hold another workspace's secrets (a
 * database password); its own processes have their workspace's already.
 */
const WORKSPACE_READS = new Set(["tether.v1.WorkspaceService/GetWorkspace", "tether.v1.WorkspaceService/ListWorkspaces"]);

/**
 * The registrations a sandbox's socket serves: the same handlers for the
 * methods SANDBOX_ALLOWED lists (a session write only with its run's
 * token, a workspace without its env), and for every other one a handler
 * that refuses with PERMISSION_DENIED, reason SANDBOXED, naming the method.
 */
export function sandboxedRegistrations(registrations: readonly ServiceRegistration[], tokens: RunTokens): ServiceRegistration[] {
  return registrations.map((reg) => {
    const allowed = new Set(SANDBOX_ALLOWED[reg.service.typeName] ?? []);
    const handlers: Record<string, AnyHandler | undefined> = {};
    for (const method of reg.service.methods) {
      const path = `${reg.service.typeName}/${method.name}`;
      const handler = reg.handler(method.localName);
      if (!allowed.has(method.name) || handler === undefined) handlers[method.localName] = refusal(path, method.methodKind);
      else handlers[method.localName] = SESSION_WRITES.has(path) ? ownSessionOnly(path, handler, tokens) : WORKSPACE_READS.has(path) ? withoutEnv(handler) : handler;
    }
    return { service: reg.service, impl: handlers as unknown as ServiceImpl<DescService>, handler: (localName) => handlers[localName] };
  });
}

/** `handler` (a unary session write) for a call carrying the token of a live run of the session its request names. */
function ownSessionOnly(method: string, handler: AnyHandler, tokens: RunTokens): AnyHandler {
  return (request, context) => {
    const own = tokens.sessionOf(context.requestHeader.get(RUN_TOKEN_HEADER));
    const named = (request as { session: string }).session.replace(/^sessions\//, "");
    if (own === undefined || own !== named) {
      const whose = own === undefined ? "command that is not a session's run" : `run of session ${own}`;
      return Promise.reject(
        new TetherError(
          Code.PermissionDenied,
          "SANDBOXED",
          `${method} to session ${named} is refused to a ${whose} in a bwrap workspace: inside its sandbox a run writes only to its own session ($TETHER_SESSION, with its $TETHER_RUN_TOKEN)`,
          { method },
        ),
      );
    }
    return handler(request, context);
  };
}

/** `handler` (a unary read of workspaces) with each workspace's env left out of its answer. */
function withoutEnv(handler: AnyHandler): AnyHandler {
  return async (request, context) => {
    const answer = (await handler(request, context)) as { workspace?: { env: Record<string, string> }; workspaces?: { env: Record<string, string> }[] };
    for (const ws of [answer.workspace, ...(answer.workspaces ?? [])]) if (ws !== undefined) ws.env = {};
    return answer;
  };
}

function refusal(method: string, kind: DescService["methods"][number]["methodKind"]): AnyHandler {
  const refused = (): TetherError =>
    new TetherError(
      Code.PermissionDenied,
      "SANDBOXED",
      `${method} is refused to a command in a bwrap workspace: inside its sandbox tether reads, and serves a session's run its own streams, waits and xcom, but starts, signals and removes nothing; run it outside the sandbox`,
      { method },
    );
  if (kind === "unary" || kind === "client_streaming") {
    return () => Promise.reject(refused());
  }
  return async function* () {
    yield* [];
    throw refused();
  } as unknown as AnyHandler;
}
