import { Code } from "@connectrpc/connect";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ErrorReason } from "../../gen/tether/v1/errors_pb.js";
import { ExecStatus } from "../../gen/tether/v1/exec_pb.js";
import { ExecService } from "../../gen/tether/v1/exec_service_pb.js";
import { RunStatus, SessionStatus } from "../../gen/tether/v1/session_pb.js";
import { PtyState } from "../../gen/tether/v1/pty_pb.js";
import { PtyService } from "../../gen/tether/v1/pty_service_pb.js";
import { SessionService } from "../../gen/tether/v1/session_service_pb.js";
import { StreamService } from "../../gen/tether/v1/stream_service_pb.js";
import { TaskService } from "../../gen/tether/v1/task_service_pb.js";
import { Materialization, SandboxProfile, WorkspaceState } from "../../gen/tether/v1/workspace_pb.js";
import { WorkspaceService } from "../../gen/tether/v1/workspace_service_pb.js";
import { ROOT, daemonPerTest } from "../helpers/daemon.js";
import { failure } from "../helpers/errors.js";
import { ExecRequests, collect, emptyResult, execToEnd } from "../helpers/execs.js";
import { PtyClient } from "../helpers/ptys.js";
import { alive, eventually, logText, waitQuiet, writeTaskFile } from "../helpers/sessions.js";

const daemon = daemonPerTest();

const hostDirs: string[] = [];
afterEach(() => {
  for (const dir of hostDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/**
 * A directory outside /tmp (the sandbox gives processes a private /tmp, so a
 * path there would be hidden, not read-only): under the repository, or
 * under the home directory when the repository itself is in /tmp.
 */
function hostDir(): string {
  const base = ROOT.startsWith(`${tmpdir()}/`) ? join(homedir(), ".cache", "tether-tests") : join(ROOT, ".tmp");
  mkdirSync(base, { recursive: true });
  const dir = mkdtempSync(join(base, "ws-test-"));
  hostDirs.push(dir);
  return dir;
}

describe("workspaces", () => {
  it("are created, found by id, prefix or name, listed in pages, labelled, and removed (a created root with it, an adopted root never)", async () => {
    const d = await daemon();
    const ws = d.client(WorkspaceService);
    const { workspace: made } = await ws.createWorkspace({ displayName: "made", labels: { team: "core" } });
    expect(made!.id).toMatch(/^w-[0-9a-z]{5,}$/);
    expect(made!.name).toBe(`workspaces/${made!.id}`);
    expect(made!.root.startsWith(d.home)).toBe(true);
    expect(existsSync(made!.root)).toBe(true);
    expect([made!.sandbox, made!.state, made!.materialization, made!.adopted]).toEqual([SandboxProfile.HOST, WorkspaceState.ACTIVE, Materialization.STOPPED, false]);

    const dir = hostDir();
    writeFileSync(join(dir, "keep.txt"), "mine");
    const { workspace: adopted } = await ws.createWorkspace({ displayName: "adopted", root: dir });
    expect(adopted!.adopted).toBe(true);
    await ws.createWorkspace({ displayName: "third" });

    expect((await ws.getWorkspace({ workspace: "made" })).workspace!.id).toBe(made!.id);
    expect((await ws.getWorkspace({ workspace: made!.id.slice(0, 6) })).workspace!.displayName).toBe("made");
    const first = await ws.listWorkspaces({ pageSize: 2 });
    const second = await ws.listWorkspaces({ pageSize: 2, pageToken: first.nextPageToken });
    expect([...first.workspaces, ...second.workspaces].map((w) => w.displayName)).toEqual(["made", "adopted", "third"]);
    expect(second.nextPageToken).toBe("");

    const relabelled = await ws.updateWorkspace({ workspace: "made", setLabels: { env: "dev" }, removeLabels: ["team"] });
    expect(relabelled.workspace!.labels).toEqual({ env: "dev" });

    const removed = await ws.deleteWorkspace({ workspace: "made" });
    expect(removed.workspace!.state).toBe(WorkspaceState.ARCHIVED);
    expect(existsSync(made!.root)).toBe(false);
    await ws.deleteWorkspace({ workspace: "adopted" });
    expect(readFileSync(join(dir, "keep.txt"), "utf8")).toBe("mine");
    expect((await ws.listWorkspaces({})).workspaces.map((w) => w.displayName)).toEqual(["third"]);
    expect((await ws.listWorkspaces({ showArchived: true })).workspaces).toHaveLength(3);
    // The name is free again; the archived one still answers by id, and nothing starts in it.
    const { workspace: again } = await ws.createWorkspace({ displayName: "made" });
    expect(again!.id).not.toBe(made!.id);
    const inArchived = await failure(execToEnd(d.client(ExecService), made!.id, ["true"]));
    expect([inArchived.code, inArchived.reason]).toEqual([Code.FailedPrecondition, ErrorReason.WORKSPACE_BUSY]);
  });

  it("an env of their own reaches every process started in them (exec, PTY, session run), under the process's own; a change applies to those started after; kept across a restart; bad ones refused", async () => {
    const d = await daemon();
    const ws = d.client(WorkspaceService);
    const execs = d.client(ExecService);
    await ws.createWorkspace({ displayName: "proj", env: { DATABASE_URL: "postgres://db/x", MODE: "dev" } });
    const shown = 'echo "$DATABASE_URL|$MODE|$TETHER_WORKSPACE"';
    const got = await execToEnd(execs, "proj", ["sh", "-c", shown]);
    const id = (await ws.getWorkspace({ workspace: "proj" })).workspace!.id;
    expect(got.stdout).toBe(`postgres://db/x|dev|${id}\n`);
    // The exec's own env over it; TETHER_WORKSPACE is tether's, whatever the workspace says.
    await ws.updateWorkspace({ workspace: "proj", setEnv: { TETHER_WORKSPACE: "mine" } });
    expect((await execToEnd(execs, "proj", ["sh", "-c", shown], { env: { MODE: "own" } })).stdout).toBe(`postgres://db/x|own|${id}\n`);
    // A session's run, and a terminal.
    const file = writeTaskFile(`tasks:\n  show: { cmd: 'echo "$DATABASE_URL|$MODE|$TASKS_OWN"', env: { MODE: task, TASKS_OWN: "1" } }\n`);
    const sessions = d.client(SessionService);
    const { session } = await sessions.startSession({ task: "show", taskFile: file, workspace: "proj" });
    await waitQuiet(sessions, session!.id);
    expect((await logText(sessions, session!.id)).stdout).toBe("postgres://db/x|task|1\n");
    const ptys = d.client(PtyService);
    const { pty } = await ptys.createPty({ spec: { workspace: "proj", argv: ["sh", "-c", 'echo "pty sees $DATABASE_URL"; sleep 30'] } });
    const client = new PtyClient(ptys, { kind: { case: "open", value: { target: { case: "pty", value: pty!.id }, size: { cols: 80, rows: 24 } } } });
    await eventually(() => (client.text.includes("pty sees postgres://db/x") ? true : undefined));
    // Changed: the next process sees the change.
    const changed = (await ws.updateWorkspace({ workspace: "proj", setEnv: { MODE: "prod" }, removeEnv: ["DATABASE_URL", "TETHER_WORKSPACE"] })).workspace!;
    expect(changed.env).toEqual({ MODE: "prod" });
    expect((await execToEnd(execs, "proj", ["sh", "-c", shown])).stdout).toBe(`|prod|${id}\n`);
    await ws.stopWorkspace({ workspace: "proj" });
    await d.stop();
    await d.restart();
    expect((await ws.getWorkspace({ workspace: "proj" })).workspace!.env).toEqual({ MODE: "prod" });
    for (const [env, said] of [
      [{ "A=B": "1" }, 'environment variable name "A=B" is not allowed'],
      [Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`V${i}`, "1"])), "at most 1000 variables"],
      [{ BIG: "x".repeat(128 * 1024 + 1) }, "the value of BIG is over 131072 bytes"],
    ] as const) {
      const bad = await failure(ws.updateWorkspace({ workspace: "proj", setEnv: env }));
      expect([bad.code, bad.message]).toEqual([Code.InvalidArgument, expect.stringContaining(said)]);
    }
    expect((await ws.getWorkspace({ workspace: "proj" })).workspace!.env).toEqual({ MODE: "prod" });
  });

  it("are listed by label, as kubectl -l selects: k=v for that value, k for any, every selector at once, page by page", async () => {
    const d = await daemon();
    const ws = d.client(WorkspaceService);
    await ws.createWorkspace({ displayName: "a", labels: { team: "core", "ci/run": "12" } });
    await ws.createWorkspace({ displayName: "b", labels: { team: "web", "ci/run": "12" } });
    await ws.createWorkspace({ displayName: "c", labels: { team: "core" } });
    await ws.createWorkspace({ displayName: "d" });
    await ws.createWorkspace({ displayName: "e", labels: { team: "core", "ci/run": "12=13", empty: "" } });
    const names = async (labelSelector: string[], showArchived = false): Promise<string[]> => (await ws.listWorkspaces({ labelSelector, showArchived })).workspaces.map((w) => w.displayName);
    expect(await names(["team=core"])).toEqual(["a", "c", "e"]);
    expect(await names(["ci/run"])).toEqual(["a", "b", "e"]);
    expect(await names(["team=core", "ci/run"])).toEqual(["a", "e"]);
    expect(await names(["ci/run=12=13"])).toEqual(["e"]);
    expect(await names(["empty="])).toEqual(["e"]);
    expect(await names(["team=Core"])).toEqual([]);
    expect(await names([])).toEqual(["a", "b", "c", "d", "e"]);
    // Pages of one: the selector holds across page tokens.
    const seen: string[] = [];
    let pageToken = "";
    do {
      const page = await ws.listWorkspaces({ pageSize: 1, pageToken, labelSelector: ["team=core"] });
      seen.push(...page.workspaces.map((w) => w.displayName));
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    expect(seen).toEqual(["a", "c", "e"]);
    // Labels changed and workspaces removed are listed as they are now.
    await ws.updateWorkspace({ workspace: "b", setLabels: { team: "core" } });
    await ws.deleteWorkspace({ workspace: "a" });
    expect(await names(["team=core"])).toEqual(["b", "c", "e"]);
    expect(await names(["team=core"], true)).toEqual(["a", "b", "c", "e"]);
    for (const selector of ["=core", "te am=core", ""]) {
      const refused = await failure(ws.listWorkspaces({ labelSelector: [selector] }));
      expect([refused.code, refused.message]).toEqual([Code.InvalidArgument, expect.stringContaining(`label selector ${JSON.stringify(selector)}`)]);
    }
  });

  it("removing a workspace of many files holds no other client: a call sent just after is answered while its tree is deleted", async () => {
    const d = await daemon();
    const ws = d.client(WorkspaceService);
    const { workspace } = await ws.createWorkspace({ displayName: "modules" });
    // 10,000 files, as a small node_modules holds.
    const filled = spawnSync("sh", ["-c", "for p in $(seq 10); do mkdir package-$p && (cd package-$p && seq 1000 | xargs touch); done"], { cwd: workspace!.root });
    expect(filled.status).toBe(0);
    const order: string[] = [];
    const removing = ws.deleteWorkspace({ workspace: "modules" }).then(() => order.push("removed"));
    await ws.listWorkspaces({}).then(() => order.push("listed"));
    await removing;
    expect(order).toEqual(["listed", "removed"]);
    expect(existsSync(workspace!.root)).toBe(false);
  });

  it("refuses bad names, duplicate names, disallowed paths and a host workspace without network, with the reason", async () => {
    const d = await daemon();
    const ws = d.client(WorkspaceService);
    const { workspace: one } = await ws.createWorkspace({ displayName: "one" });
    const cases: [Promise<unknown>, Code, ErrorReason, RegExp][] = [
      [ws.createWorkspace({ displayName: "one" }), Code.AlreadyExists, ErrorReason.WORKSPACE_ALREADY_EXISTS, /already exists/],
      // An id is looked up before a name: a workspace named as another's id could never be named.
      [ws.createWorkspace({ displayName: one!.id }), Code.AlreadyExists, ErrorReason.WORKSPACE_ALREADY_EXISTS, new RegExp(`^${one!.id} is the id of workspace one, which it would always mean: pick another name$`)],
      [ws.createWorkspace({ displayName: "bad name!" }), Code.InvalidArgument, ErrorReason.INVALID_NAME, /letters, digits/],
      [ws.createWorkspace({ displayName: "root", root: "/" }), Code.InvalidArgument, ErrorReason.PATH_NOT_ALLOWED, /whole filesystem/],
      [ws.createWorkspace({ displayName: "proc", root: "/proc/self" }), Code.InvalidArgument, ErrorReason.PATH_NOT_ALLOWED, /\/proc/],
      [ws.createWorkspace({ displayName: "missing", root: "/nonexistent/dir" }), Code.InvalidArgument, ErrorReason.PATH_NOT_ALLOWED, /does not exist/],
      // A client that read a Latin-1 name as UTF-8 sends U+FFFD for its bytes: the path names nothing.
      [ws.createWorkspace({ displayName: "latin1", root: "/tmp/caf\uFFFD" }), Code.InvalidArgument, ErrorReason.PATH_NOT_ALLOWED, /^workspace path \/tmp\/caf\uFFFD does not exist \(U\+FFFD in it may stand for bytes that are not UTF-8: tether takes paths as UTF-8 text\): create it first$/],
      [ws.createWorkspace({ displayName: "relative", root: "some/dir" }), Code.InvalidArgument, ErrorReason.PATH_NOT_ALLOWED, /relative/],
      [ws.createWorkspace({ displayName: "state", root: join(d.home, "workspaces") }), Code.InvalidArgument, ErrorReason.PATH_NOT_ALLOWED, /state directory/],
      [ws.createWorkspace({ displayName: "nonet", noNetwork: true }), Code.InvalidArgument, ErrorReason.INVALID_ARGUMENT, /bwrap/],
      [ws.getWorkspace({ workspace: "nope" }), Code.NotFound, ErrorReason.WORKSPACE_NOT_FOUND, /^no workspace "nope": tether ws ls/],
      [ws.getWorkspace({ workspace: "oen" }), Code.NotFound, ErrorReason.WORKSPACE_NOT_FOUND, /^no workspace "oen": did you mean one\? tether ws ls/],
    ];
    for (const [call, code, reason, message] of cases) {
      const f = await failure(call);
      expect([f.code, f.reason]).toEqual([code, reason]);
      expect(f.message).toMatch(message);
    }
  });

  it("ws stop terminates every live process (execs, one that ignores SIGTERM, a session run) and the workspace stays; rm is refused while work is live", async () => {
    const d = await daemon();
    const ws = d.client(WorkspaceService);
    const execs = d.client(ExecService);
    await ws.createWorkspace({ displayName: "busy" });
    const pids: number[] = [];
    // The stubborn one says when its trap is set: a SIGTERM before that (under load) would end it.
    for (const argv of [["sleep", "60"], ["sh", "-c", "trap '' TERM; echo up; while :; do sleep 0.1; done"]]) {
      const requests = new ExecRequests();
      requests.push({ kind: { case: "start", value: { workspace: "busy", argv } } });
      requests.end();
      for await (const r of execs.exec(requests)) {
        if (r.kind.case === "started") {
          pids.push(r.kind.value.exec!.pid);
          break; // Detach: the process goes on.
        }
      }
    }
    await eventually(async () => ((await execs.listExecs({ workspace: "busy" })).execs.some((e) => e.stdoutBytes > 0n) ? true : undefined));
    // Retries: a run stopped with its workspace is stopped on purpose, and not started again there.
    const taskFile = writeTaskFile("tasks:\n  serve:\n    cmd: sleep 60\n    retries: 2\n");
    const { session } = await d.client(SessionService).startSession({ task: "serve", taskFile, workspace: "busy" });
    const live = await eventually(async () => {
      const w = (await ws.getWorkspace({ workspace: "busy" })).workspace!;
      return w.liveRuns === 1 ? w : undefined;
    });
    expect([live.materialization, live.liveExecs]).toEqual([Materialization.LIVE, 2]);

    const refused = await failure(ws.deleteWorkspace({ workspace: "busy" }));
    expect([refused.code, refused.reason]).toEqual([Code.FailedPrecondition, ErrorReason.WORKSPACE_BUSY]);
    expect(refused.message).toMatch(/2 exec\(s\).*1 session run\(s\).*--force/);

    const stopped = await ws.stopWorkspace({ workspace: "busy", grace: { seconds: 1n } });
    expect(stopped.stopped).toBe(3);
    expect(stopped.workspace!.materialization).toBe(Materialization.STOPPED);
    expect(stopped.workspace!.state).toBe(WorkspaceState.ACTIVE);
    for (const pid of pids) expect(alive(pid)).toBe(false);
    // Each says why it ended, for its attached client and later readers.
    const statuses = (await execs.listExecs({ workspace: "busy" })).execs.map((e) => [e.status, e.signal, e.error]);
    expect(statuses).toEqual([
      [ExecStatus.SIGNALLED, "SIGKILL", "stopped: its workspace busy was stopped"],
      [ExecStatus.SIGNALLED, "SIGTERM", "stopped: its workspace busy was stopped"],
    ]);
    expect((await waitQuiet(d.client(SessionService), session!.id)).status).toBe(SessionStatus.CLOSED);
    const { runs } = await d.client(SessionService).listRuns({ parent: session!.name });
    expect(runs.map((r) => [r.status, r.reason])).toEqual([[RunStatus.CANCELLED, "its workspace busy was stopped"]]);
    expect((await ws.getWorkspace({ workspace: "busy" })).workspace!.materialization).toBe(Materialization.STOPPED);
    await ws.deleteWorkspace({ workspace: "busy" });
  });

  it("a workspace whose root was removed outside tether refuses execs, terminals and runs saying so, and is removed as any", async () => {
    const d = await daemon();
    const ws = d.client(WorkspaceService);
    const { workspace } = await ws.createWorkspace({ displayName: "gone" });
    rmSync(workspace!.root, { recursive: true });
    const said = `the workspace's root ${workspace!.root} no longer exists (removed outside tether): create it again (mkdir -p ${workspace!.root}), or remove the workspace (tether ws rm)`;
    const exec = await failure(execToEnd(d.client(ExecService), "gone", ["pwd"]));
    expect([exec.code, exec.reason, exec.message]).toEqual([Code.FailedPrecondition, ErrorReason.PATH_NOT_ALLOWED, said]);
    const pty = await failure(d.client(PtyService).createPty({ spec: { workspace: "gone", argv: ["true"] } }));
    expect([pty.code, pty.message]).toEqual([Code.FailedPrecondition, said]);
    const sessions = d.client(SessionService);
    const { session } = await sessions.startSession({ task: "t", taskFile: writeTaskFile("tasks:\n  t:\n    cmd: pwd\n"), workspace: "gone" });
    await waitQuiet(sessions, session!.id);
    expect((await logText(sessions, session!.id)).stderr).toContain(said);
    expect((await ws.deleteWorkspace({ workspace: "gone" })).workspace!.state).toBe(WorkspaceState.ARCHIVED);
  });

  it("a stop's or a terminal's close's grace of 10,000 years is one: a process that ignores SIGTERM and SIGHUP is not killed at once", async () => {
    const d = await daemon();
    const ws = d.client(WorkspaceService);
    const execs = d.client(ExecService);
    const ptys = d.client(PtyService);
    await ws.createWorkspace({ displayName: "w" });
    // It says when its traps are set: a signal before that (under load) would end it.
    const stubborn = ["sh", "-c", "trap '' TERM HUP; echo trapped; while :; do sleep 0.1; done"];
    // The longest a protobuf Duration holds.
    const forever = { seconds: 315_576_000_000n };
    const { pty } = await ptys.createPty({ spec: { workspace: "w", argv: stubborn } });
    await eventually(async () => ((await ptys.getPty({ pty: pty!.id })).pty!.outputBytes > 0n ? true : undefined));
    const closing = ptys.closePty({ pty: pty!.id, grace: forever });
    const requests = new ExecRequests();
    requests.push({ kind: { case: "start", value: { workspace: "w", argv: stubborn } } });
    requests.end();
    let exec = "";
    for await (const r of execs.exec(requests)) {
      if (r.kind.case === "started") {
        exec = r.kind.value.exec!.id;
        break;
      }
    }
    await eventually(async () => ((await execs.getExec({ exec })).exec!.stdoutBytes > 0n ? true : undefined));
    const stopping = ws.stopWorkspace({ workspace: "w", grace: forever });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect((await execs.getExec({ exec })).exec!.status).toBe(ExecStatus.RUNNING);
    expect((await ptys.getPty({ pty: pty!.id })).pty!.state).toBe(PtyState.OPEN);
    expect((await ws.getWorkspace({ workspace: "w" })).workspace!.materialization).toBe(Materialization.STOPPING);
    // Killed by hand, they end the stop and the close, which say how.
    await execs.signalExec({ exec, signal: "KILL" });
    await ptys.signalPty({ pty: pty!.id, signal: "KILL" });
    expect((await stopping).stopped).toBe(2);
    expect((await closing).pty!.exit!.signal).toBe("SIGKILL");
    expect(d.log()).not.toContain("TimeoutOverflowWarning");
  });

  it("a forced removal stops the live work, and nothing starts in the workspace while it does: no process is left in a removed workspace", async () => {
    const d = await daemon();
    const ws = d.client(WorkspaceService);
    const execs = d.client(ExecService);
    await ws.createWorkspace({ displayName: "going" });
    const requests = new ExecRequests();
    requests.push({ kind: { case: "start", value: { workspace: "going", argv: ["sh", "-c", "trap '' TERM; echo up; while :; do sleep 0.1; done"] } } });
    requests.end();
    for await (const r of execs.exec(requests)) if (r.kind.case === "started") break;
    // Its trap is set once it says so.
    await eventually(async () => ((await execs.listExecs({ workspace: "going" })).execs[0]!.stdoutBytes > 0n ? true : undefined));
    // It ignores SIGTERM: the removal waits out its grace (2 s) before SIGKILL, and meanwhile others try to start work there.
    const removing = ws.deleteWorkspace({ workspace: "going", force: true, grace: { seconds: 2n } });
    await eventually(async () => ((await ws.getWorkspace({ workspace: "going" })).workspace!.materialization === Materialization.STOPPING ? true : undefined));
    const refused = await failure(execToEnd(execs, "going", ["sleep", "60"]));
    expect([refused.code, refused.reason, refused.message]).toEqual([Code.FailedPrecondition, ErrorReason.WORKSPACE_BUSY, expect.stringContaining("workspace going (w-")]);
    expect(refused.message).toContain("is being removed: nothing starts in it any more");
    const again = await failure(ws.deleteWorkspace({ workspace: "going", force: true }));
    expect([again.code, again.message]).toEqual([Code.FailedPrecondition, "workspace going is being removed already"]);
    const removed = (await removing).workspace!;
    expect([removed.state, removed.materialization]).toEqual([WorkspaceState.ARCHIVED, Materialization.STOPPED]);
    expect(existsSync(removed.root)).toBe(false);
  });

  it("a session runs in the workspace it names, and by default in its task file's directory adopted as a workspace", async () => {
    const d = await daemon();
    const { workspace } = await d.client(WorkspaceService).createWorkspace({ displayName: "here" });
    const taskFile = writeTaskFile("tasks:\n  where:\n    cmd: pwd\n");
    const sessions = d.client(SessionService);
    const named = (await sessions.startSession({ task: "where", taskFile, workspace: "here" })).session!;
    expect(named.workspace).toBe(`workspaces/${workspace!.id}`);
    const unnamed = (await sessions.startSession({ task: "where", taskFile })).session!;
    const adopted = (await d.client(WorkspaceService).getWorkspace({ workspace: unnamed.workspace })).workspace!;
    expect(adopted.adopted).toBe(true);
    expect(adopted.root).toBe(join(taskFile, ".."));
    for (const [s, dir] of [[named, workspace!.root], [unnamed, adopted.root]] as const) {
      await waitQuiet(sessions, s.id);
      let out = "";
      for await (const msg of sessions.readSessionLogs({ name: s.name })) for (const c of msg.chunks) out += Buffer.from(c.data).toString();
      expect(out.trim()).toBe(dir);
    }
    // A second session from the same file reuses the adopted workspace.
    const again = (await sessions.startSession({ task: "where", taskFile })).session!;
    expect(again.workspace).toBe(unnamed.workspace);
  });

  it("a directory names its workspace: a command started there adopts it once (as a session's task file's directory is), found again by path, whatever sandbox it has", async () => {
    const d = await daemon();
    const ws = d.client(WorkspaceService);
    const execs = d.client(ExecService);
    const dir = hostDir();
    // None yet: a lookup by path says how to make one; an exec there adopts it as a host workspace named after it.
    const none = await failure(ws.getWorkspace({ workspace: dir }));
    expect([none.code, none.message]).toEqual([Code.NotFound, `no workspace has the directory ${dir}: a command started there adopts it (tether exec ${dir} -- CMD), or tether ws create NAME --path ${dir}`]);
    expect((await execToEnd(execs, dir, ["pwd"])).stdout).toBe(`${dir}\n`);
    const { workspace: adopted } = await ws.getWorkspace({ workspace: `${dir}/.` });
    expect([adopted!.adopted, adopted!.displayName, adopted!.sandbox]).toEqual([true, dir.split("/").at(-1), SandboxProfile.HOST]);
    expect((await execToEnd(execs, dir, ["true"])).exit?.exitCode).toBe(0);
    expect((await ws.listWorkspaces({})).workspaces.filter((w) => w.root === dir)).toHaveLength(1);
    // A session's --ws by path is the same workspace.
    const { session } = await d.client(SessionService).startSession({ task: "where", taskFile: writeTaskFile("tasks:\n  where:\n    cmd: pwd\n"), workspace: dir });
    expect(session!.workspace).toBe(adopted!.name);
    // A bwrap workspace's directory given by path runs sandboxed: the rest of the filesystem is read-only.
    const boxed = hostDir();
    const outside = hostDir();
    await ws.createWorkspace({ displayName: "boxed", root: boxed, sandbox: SandboxProfile.BWRAP });
    const escape = await execToEnd(execs, boxed, ["sh", "-c", `touch ${outside}/escaped; echo "rc=$?"`]);
    expect(escape.stdout).toMatch(/^rc=1\n/);
    expect(existsSync(join(outside, "escaped"))).toBe(false);
    // Two workspaces of one directory: the path names neither.
    await ws.createWorkspace({ displayName: "again", root: boxed });
    const two = await failure(execToEnd(execs, boxed, ["true"]));
    expect([two.code, two.message]).toEqual([Code.InvalidArgument, `several workspaces have the directory ${boxed}: boxed (bwrap), again (host); name one of them`]);
    const missing = await failure(execToEnd(execs, join(dir, "nope"), ["true"]));
    expect(missing.message).toBe(`workspace path ${join(dir, "nope")} does not exist: create it first`);
    // Created unnamed, an adopted directory is named after itself, as adoption names it; a new one needs a name.
    const unnamed = hostDir();
    const named = [(await ws.createWorkspace({ root: unnamed })).workspace!, (await ws.createWorkspace({ root: unnamed, sandbox: SandboxProfile.BWRAP })).workspace!];
    expect(named.map((w) => w.displayName)).toEqual([unnamed.split("/").at(-1), `${unnamed.split("/").at(-1)}-2`]);
    expect((await failure(ws.createWorkspace({}))).reason).toBe(ErrorReason.INVALID_NAME);
  });

  it("a run whose workspace was removed after its session started fails to start and says so (a keep_open session's next run)", async () => {
    const d = await daemon();
    const ws = d.client(WorkspaceService);
    const sessions = d.client(SessionService);
    await ws.createWorkspace({ displayName: "brief" });
    const taskFile = writeTaskFile("tasks:\n  convo:\n    keep_open: true\n    streams: { msg: input }\n    cmd: tether wait msg && pwd\n");
    const { session } = await sessions.startSession({ task: "convo", taskFile, workspace: "brief" });
    const streams = d.client(StreamService);
    await streams.sendInput({ session: session!.name, stream: "msg", text: "1" });
    await eventually(async () => ((await sessions.listRuns({ parent: session!.name })).runs[0]?.status === RunStatus.SUCCEEDED ? true : undefined));
    await ws.deleteWorkspace({ workspace: "brief" });
    await streams.sendInput({ session: session!.name, stream: "msg", text: "2" });
    const second = await eventually(async () => {
      const run = (await sessions.listRuns({ parent: session!.name })).runs[1];
      return run?.status === RunStatus.FAILED ? run : undefined;
    });
    expect([second.exitCode, second.reason]).toEqual([127, expect.stringMatching(/^could not start: workspace brief \(w-\w+\) was removed: nothing starts in it any more/)]);
    expect((await logText(sessions, session!.id, 2)).stderr).toMatch(/^tether: workspace brief \(w-\w+\) was removed/);
  });

  it("takes a cwd inside a workspace whose state dir is reached through a symlink", async () => {
    const link = join(mkdtempSync(join(tmpdir(), "tether-link-")), "home");
    symlinkSync(mkdtempSync(join(tmpdir(), "tether-real-home-")), link);
    const d = await daemon({ TETHER_HOME: link });
    const { workspace } = await d.client(WorkspaceService).createWorkspace({ displayName: "linked" });
    expect(workspace!.root.startsWith(link)).toBe(true);
    mkdirSync(join(workspace!.root, "sub"));
    const pwd = await execToEnd(d.client(ExecService), "linked", ["pwd", "-P"], { cwd: "sub" });
    expect([pwd.stderr, pwd.stdout.trim()]).toEqual(["", realpathSync(join(workspace!.root, "sub"))]);
  });

  it("a task's cwd resolves inside the workspace: one that escapes (.., a symlink) fails to start and says why", async () => {
    const d = await daemon();
    const { workspace } = await d.client(WorkspaceService).createWorkspace({ displayName: "confined" });
    mkdirSync(join(workspace!.root, "sub"));
    symlinkSync("/etc", join(workspace!.root, "link"));
    const taskFile = writeTaskFile("tasks:\n  inside: { cmd: pwd, cwd: sub }\n  up: { cmd: pwd, cwd: .. }\n  link: { cmd: pwd, cwd: link }\n");
    const sessions = d.client(SessionService);
    const logs = async (task: string): Promise<{ status: RunStatus | undefined; out: string }> => {
      const s = (await sessions.startSession({ task, taskFile, workspace: "confined" })).session!;
      await waitQuiet(sessions, s.id);
      let out = "";
      for await (const msg of sessions.readSessionLogs({ name: s.name })) for (const c of msg.chunks) out += Buffer.from(c.data).toString();
      return { status: (await sessions.listRuns({ parent: s.name })).runs[0]?.status, out };
    };
    expect(await logs("inside")).toEqual({ status: RunStatus.SUCCEEDED, out: `${join(workspace!.root, "sub")}\n` });
    for (const task of ["up", "link"]) {
      const { status, out } = await logs(task);
      expect(status).toBe(RunStatus.FAILED);
      expect(out).toMatch(/outside the workspace root .*: the cwd must be inside the workspace/);
    }
  });
});

describe("the bwrap sandbox", () => {
  it("lets commands write the workspace but nothing else (not through another process's /proc/PID/root either), in execs and session runs alike, and takes the network away on request", async () => {
    const d = await daemon();
    const ws = d.client(WorkspaceService);
    const execs = d.client(ExecService);
    const outside = hostDir();
    await ws.createWorkspace({ displayName: "box", sandbox: SandboxProfile.BWRAP, noNetwork: true });
    const exec = await execToEnd(execs, "box", ["sh", "-c", `echo inside > made.txt && cat made.txt; echo escape > ${outside}/escaped.txt; echo "rc=$?"; cat /proc/net/dev`]);
    expect(exec.stdout).toMatch(/^inside\nrc=[12]\n/);
    expect(exec.stderr).toMatch(/Read-only file system/);
    expect(existsSync(join(outside, "escaped.txt"))).toBe(false);
    const interfaces = exec.stdout.split("\n").filter((l) => /^\s*[\w.-]+:/.test(l)).map((l) => l.trim().split(":")[0]);
    expect(interfaces).toEqual(["lo"]);

    const taskFile = writeTaskFile(`tasks:\n  escape:\n    cmd: sh -c 'touch run-made.txt && touch ${outside}/run-escaped.txt'\n`);
    const sessions = d.client(SessionService);
    const { session } = await sessions.startSession({ task: "escape", taskFile, workspace: "box" });
    const ended = await waitQuiet(sessions, session!.id);
    expect(ended.exitCode).toBe(1);
    const root = (await ws.getWorkspace({ workspace: "box" })).workspace!.root;
    expect(existsSync(join(root, "run-made.txt"))).toBe(true);
    expect(existsSync(join(outside, "run-escaped.txt"))).toBe(false);

    // A readiness check is a command too: it runs in the sandbox.
    const served = writeTaskFile(`tasks:\n  serve:\n    cmd: sleep 30\n    readiness: { cmd: "touch probe-made.txt; touch ${outside}/probe-escaped.txt; true", interval: 100ms, timeout: 20s }\n`);
    const serving = (await sessions.startSession({ task: "serve", taskFile: served, workspace: "box" })).session!;
    await eventually(async () => ((await sessions.listRuns({ parent: serving.name })).runs[0]?.status === RunStatus.READY ? true : undefined));
    expect(existsSync(join(root, "probe-made.txt"))).toBe(true);
    expect(existsSync(join(outside, "probe-escaped.txt"))).toBe(false);
    await sessions.cancelSession({ name: serving.name });

    // Its own PID namespace: no process outside it shows in /proc, so none's /proc/PID/root (the daemon's here) reaches the host's files.
    const escape = `${outside}/via-proc.txt`;
    const proc = await execToEnd(execs, "box", ["sh", "-c", `ls /proc | grep -c '^[0-9]'; echo x > /proc/${d.process.pid}/root${escape}; echo "rc=$?"`]);
    expect(Number(proc.stdout.split("\n")[0])).toBeLessThan(10);
    expect(proc.stdout).toMatch(/rc=[12]\n$/);
    expect(existsSync(escape)).toBe(false);

    // `tether` itself works inside the sandbox: the socket is reachable.
    const inner = await execToEnd(execs, "box", ["tether", "ws", "ls"]);
    expect(inner.stdout).toContain("box");

    // Sockets under /run (a session bus, docker.sock, a database's) are hidden: /run is an empty tmpfs there.
    const runSocket = `/run/tether-test-${process.pid}.sock`;
    let server: Server | undefined;
    try {
      server = await new Promise<Server>((resolve, reject) => {
        const s = createServer().once("error", reject);
        s.listen(runSocket, () => resolve(s));
      });
    } catch {
      // /run is not writable here (not root): the check below still sees /run empty (but for systemd-resolved's directory).
    }
    try {
      const run = await execToEnd(execs, "box", ["sh", "-c", `test -e ${runSocket} && echo visible || echo hidden; ls -A /run | grep -vx systemd`]);
      expect(run.stdout).toBe("hidden\n");
      if (server !== undefined) expect(existsSync(runSocket)).toBe(true);
    } finally {
      server?.close();
    }
  });

  it("serves a sandboxed command reads, and a run its own session's streams, waits and xcom; refuses anything that would leave the sandbox or write to another session", async () => {
    const d = await daemon();
    const ws = d.client(WorkspaceService);
    const execs = d.client(ExecService);
    const sessions = d.client(SessionService);
    const outside = hostDir();
    await ws.createWorkspace({ displayName: "box", sandbox: SandboxProfile.BWRAP });
    await ws.createWorkspace({ displayName: "host", env: { DB_PASSWORD: "hunter2" } });
    // Reads are served, a workspace without its env (another's secrets): the sandbox's own processes have theirs.
    const shown = await execToEnd(execs, "box", ["tether", "ws", "show", "host", "--json"]);
    expect(JSON.parse(shown.stdout)).toMatchObject({ name: "host", env: {} });
    expect((await execToEnd(execs, "box", ["tether", "ws", "ls", "--json"])).stdout).not.toContain("hunter2");
    // Over gRPC (the CLI) and over the Connect protocol (curl) alike: an exec on the host, a workspace at /, a daemon shutdown.
    const curl = (method: string, body: string): string[] => ["curl", "-s", "--unix-socket", d.socketPath, "-H", "Content-Type: application/json", "-d", body, `http://localhost/tether.v1.${method}`];
    const tries = [
      ["tether", "exec", "host", "--", "sh", "-c", `touch ${outside}/escaped.txt`],
      ["tether", "ws", "create", "root", "--path", "/"],
      curl("DaemonService/ShutdownDaemon", "{}"),
      curl("SessionService/StartSession", JSON.stringify({ task: "x", taskFile: "/nonexistent.yaml" })),
    ];
    for (const argv of tries) {
      const tried = await execToEnd(execs, "box", argv);
      expect(tried.stdout + tried.stderr).toMatch(/is refused to a command in a bwrap workspace: .*run it outside the sandbox/);
    }
    expect(existsSync(join(outside, "escaped.txt"))).toBe(false);
    expect((await ws.getWorkspace({ workspace: "root" }).catch((e: unknown) => e)) instanceof Error).toBe(true);
    const refused = await execToEnd(execs, "box", curl("ExecService/SignalExec", JSON.stringify({ exec: "e-x", signal: "TERM" })));
    expect(JSON.parse(refused.stdout)).toMatchObject({ code: "permission_denied", details: [{ debug: { reason: "ERROR_REASON_SANDBOXED", metadata: { method: "tether.v1.ExecService/SignalExec" } } }] });

    // A session's run in the sandbox still writes its output, waits for input and shares xcom; another session it may only read.
    const approvals = writeTaskFile("tasks:\n  deploy: { streams: { approval: input }, cmd: tether wait approval }\n");
    const other = (await sessions.startSession({ task: "deploy", taskFile: approvals })).session!;
    const taskFile = writeTaskFile(
      `tasks:\n  talk:\n    workspace: box\n    streams: { q: input, events: output }\n    cmd: tether output events one && tether xcom set k v && tether wait q && tether send ${other.id} approval yes; tether xcom set k2 v --session ${other.id}; tether show ${other.id} >/dev/null && echo read\n`,
    );
    const { session } = await sessions.startSession({ task: "talk", taskFile });
    await d.client(StreamService).sendInput({ session: session!.name, stream: "q", text: "answer" });
    expect(await waitQuiet(sessions, session!.id)).toMatchObject({ exitCode: 0, xcom: [expect.objectContaining({ key: "k", value: "v" })] });
    const talked = await logText(sessions, session!.id);
    expect(talked.stdout).toBe("answer\nread\n");
    expect(talked.stderr).toMatch(new RegExp(`SendInput to session ${other.id} is refused to a run of session ${session!.id} in a bwrap workspace[\\s\\S]*SetXcom to session ${other.id} is refused`));
    // Without a run's token (an exec), no session takes its writes.
    const untokened = await execToEnd(execs, "box", ["tether", "send", other.id, "approval", "yes"]);
    expect(untokened.stderr).toMatch(/is refused to a command that is not a session's run in a bwrap workspace/);
    expect((await sessions.getSession({ name: other.name })).session).toMatchObject({ status: SessionStatus.OPEN, xcom: [] });
    await eventually(async () => ((await sessions.listRuns({ parent: other.name })).runs[0]?.status === RunStatus.WAITING ? true : undefined));
    await sessions.cancelSession({ name: other.name });
  });

  it("runs a task that names a workspace of its own there, the rest of its graph in the session's; pinned at start, again on rerun", async () => {
    const d = await daemon();
    const ws = d.client(WorkspaceService);
    const sessions = d.client(SessionService);
    const outside = hostDir();
    const taskFile = writeTaskFile(
      [
        "tasks:",
        "  prepare: { cmd: pwd }",
        "  untrusted:",
        `    cmd: "pwd; echo $TETHER_WORKSPACE; touch made.txt; touch ${outside}/escaped.txt 2>/dev/null; echo escaped=$?"`,
        "    workspace: box",
        "    upstream: [prepare]",
        "  main: { cmd: pwd, upstream: [untrusted] }",
        "",
      ].join("\n"),
    );
    // Named in the file, the workspace must exist when a session starts: the refusal names the task.
    const missing = await failure(sessions.startSession({ task: "main", taskFile }));
    expect([missing.code, missing.reason]).toEqual([Code.NotFound, ErrorReason.WORKSPACE_NOT_FOUND]);
    expect(missing.message).toMatch(/^task "untrusted" runs in workspace "box": no workspace "box": .*tether ws create/);
    const tasks = (await d.client(TaskService).listTasks({ taskFile })).tasks;
    expect(tasks.map((t) => [t.name, t.workspace])).toEqual([["tasks/prepare", ""], ["tasks/untrusted", "box"], ["tasks/main", ""]]);

    const box = (await ws.createWorkspace({ displayName: "box", sandbox: SandboxProfile.BWRAP, noNetwork: true })).workspace!;
    const other = (await ws.createWorkspace({ displayName: "other" })).workspace!;
    const first = (await sessions.startSession({ task: "main", taskFile, workspace: "other" })).session!;
    expect(first.taskWorkspaces).toEqual({ untrusted: `workspaces/${box.id}` });
    expect(await waitQuiet(sessions, first.id)).toMatchObject({ status: SessionStatus.CLOSED, exitCode: 0 });
    const out = async (id: string, task: string): Promise<string> => {
      let text = "";
      for await (const msg of sessions.readSessionLogs({ name: `sessions/${id}`, task })) for (const c of msg.chunks) text += Buffer.from(c.data).toString();
      return text;
    };
    // The task's own workspace, its sandbox included; the others in the session's (--ws), even downstream of it.
    expect(await out(first.id, "prepare")).toBe(`${other.root}\n`);
    expect(await out(first.id, "untrusted")).toBe(`${box.root}\n${box.id}\nescaped=1\n`);
    expect(await out(first.id, "main")).toBe(`${other.root}\n`);
    expect(existsSync(join(box.root, "made.txt"))).toBe(true);
    expect(existsSync(join(outside, "escaped.txt"))).toBe(false);

    // A rerun runs it where the first session pinned it (by id).
    const rerun = (await sessions.rerunSession({ name: first.name })).session!;
    expect(rerun.taskWorkspaces).toEqual({ untrusted: `workspaces/${box.id}` });
    await waitQuiet(sessions, rerun.id);
    expect(await out(rerun.id, "untrusted")).toBe(`${box.root}\n${box.id}\nescaped=1\n`);

    // Its run is the workspace's live work: removing the workspace is refused while it runs.
    const holding = writeTaskFile("tasks:\n  hold: { cmd: sleep 30, workspace: box }\n");
    const held = (await sessions.startSession({ task: "hold", taskFile: holding })).session!;
    await eventually(async () => ((await sessions.listRuns({ parent: held.name })).runs[0]?.status === RunStatus.RUNNING ? true : undefined));
    const busy = await failure(ws.deleteWorkspace({ workspace: "box" }));
    expect([busy.code, busy.message]).toEqual([Code.FailedPrecondition, expect.stringContaining(`(0 exec(s), 0 PTY(s), 1 session run(s) of ${held.id}): stop it first with tether ws stop box`)]);
    expect((await ws.getWorkspace({ workspace: "box" })).workspace).toMatchObject({ materialization: Materialization.LIVE, liveRunNames: [`sessions/${held.id}/runs/1`] });
    await sessions.cancelSession({ name: held.name });
  });

  it("gives a --no-network workspace one network of its own, as a container has: its processes share a loopback the host does not see, a service's http check and its downstream reach it, and it outlives a daemon restart", async () => {
    const d = await daemon();
    const ws = d.client(WorkspaceService);
    const execs = d.client(ExecService);
    const root = (await ws.createWorkspace({ displayName: "box", sandbox: SandboxProfile.BWRAP, noNetwork: true })).workspace!.root;
    const port = 20_000 + Math.floor(Math.random() * 40_000);
    const serve = `require("node:http").createServer((q, s) => s.end("hello from inside")).listen(${port}, "127.0.0.1", () => require("node:fs").writeFileSync("listening", ""))`;
    const fetchIt = `fetch("http://127.0.0.1:${port}/").then((r) => r.text()).then(console.log, (e) => { console.log("unreachable: " + e.cause?.code); process.exit(3); })`;
    const serveDetached = async (): Promise<void> => {
      rmSync(join(root, "listening"), { force: true });
      const requests = new ExecRequests();
      requests.push({ kind: { case: "start", value: { workspace: "box", argv: [process.execPath, "-e", serve] } } });
      requests.end();
      for await (const r of execs.exec(requests)) if (r.kind.case === "started") break;
      await eventually(() => (existsSync(join(root, "listening")) ? true : undefined));
    };
    await serveDetached();
    // Another exec in the workspace reaches the server; the host does not (nor anything outside: the test's own fetch).
    expect((await execToEnd(execs, "box", [process.execPath, "-e", fetchIt])).stdout).toBe("hello from inside\n");
    const fromHost = await fetch(`http://127.0.0.1:${port}/`).then(
      () => "reached",
      (e: { cause?: { code?: string } }) => e.cause?.code,
    );
    expect(fromHost).toBe("ECONNREFUSED");

    // A service in the workspace: its http check is made from inside, and its downstream reaches it.
    const sessions = d.client(SessionService);
    const taskFile = writeTaskFile(`
tasks:
  api:
    cmd: [${JSON.stringify(process.execPath)}, "-e", ${JSON.stringify(serve.replace(String(port), String(port + 1)))}]
    readiness: { http: "http://127.0.0.1:${port + 1}/", interval: 100ms, timeout: 20s }
  client:
    cmd: [${JSON.stringify(process.execPath)}, "-e", ${JSON.stringify(fetchIt.replace(String(port), String(port + 1)))}]
    upstream: [api]
`);
    const { session } = await sessions.startSession({ task: "client", taskFile, workspace: "box" });
    expect(await waitQuiet(sessions, session!.id)).toMatchObject({ status: SessionStatus.CLOSED, exitCode: 0 });
    expect((await logText(sessions, session!.id)).stdout).toBe("hello from inside\n");

    // After a crash the next daemon gives the workspace a network again (a new one: what ran in the old one was stopped).
    await d.kill();
    await d.restart();
    const after = d.client(ExecService);
    expect((await execToEnd(after, "box", [process.execPath, "-e", fetchIt])).stdout).toBe("unreachable: ECONNREFUSED\n");
    await serveDetached();
    expect((await execToEnd(after, "box", [process.execPath, "-e", fetchIt])).stdout).toBe("hello from inside\n");

    // The process that holds the network is the daemon's; it goes with the workspace.
    const holders = (): number =>
      readdirSync("/proc").filter((pid) => {
        try {
          const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
          const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
          return parent === d.process.pid && readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("--unshare-net");
        } catch {
          return false;
        }
      }).length;
    expect(holders()).toBe(1);
    await d.client(WorkspaceService).deleteWorkspace({ workspace: "box", force: true });
    await eventually(() => (holders() === 0 ? true : undefined));
  });

  it("passes signals to the command, not to bwrap: a command that catches SIGTERM or Ctrl-C handles it and is tracked until it ends", async () => {
    const d = await daemon();
    await d.client(WorkspaceService).createWorkspace({ displayName: "box", sandbox: SandboxProfile.BWRAP });
    const execs = d.client(ExecService);
    const requests = new ExecRequests();
    requests.push({ kind: { case: "start", value: { workspace: "box", argv: ["sh", "-c", 'trap "echo caught TERM; sleep 0.5; echo cleaned up; exit 7" TERM; echo up; while :; do sleep 0.1; done'] } } });
    requests.end();
    const result = emptyResult();
    let sent = false;
    for await (const response of execs.exec(requests)) {
      collect(result, response);
      if (!sent && result.stdout === "up\n") {
        sent = true;
        await execs.signalExec({ exec: result.exec!.id, signal: "TERM" });
      }
    }
    // The exec ended when the command did, after its cleanup, with the command's own status.
    expect([result.stdout, result.exit!.status, result.exit!.exitCode]).toEqual(["up\ncaught TERM\ncleaned up\n", ExecStatus.EXITED, 7]);

    // In a terminal, Ctrl-C goes to the foreground group, bwrap included: the program catches it and goes on.
    const term = new PtyClient(d.client(PtyService), {
      kind: { case: "open", value: { target: { case: "create", value: { workspace: "box", argv: ["sh", "-c", 'trap "echo caught INT" INT; echo ready; read line || read line; echo "read $line"'] } }, size: { cols: 80, rows: 24 } } },
    });
    await eventually(() => (term.text.includes("ready") ? true : undefined));
    term.type("\x03");
    await eventually(() => (term.text.includes("caught INT") ? true : undefined));
    term.type("after\r");
    await term.done;
    expect(term.text).toMatch(/read after\r\n$/);
    expect([term.exit!.status, term.exit!.exitCode]).toEqual([ExecStatus.EXITED, 0]);

    // An interactive shell takes a process group of its own under bwrap (which leads the terminal's session and ignores
    // SIGHUP): closing its PTY hangs it up too, as closing a terminal would, rather than waiting out the grace for SIGKILL.
    const ptys = d.client(PtyService);
    const shell = new PtyClient(ptys, { kind: { case: "open", value: { target: { case: "create", value: { workspace: "box", argv: ["bash", "--norc"] } }, size: { cols: 80, rows: 24 } } } });
    shell.type("echo shell up\r");
    await eventually(() => (/\rshell up\r\n/.test(shell.text) ? true : undefined));
    const closed = await ptys.closePty({ pty: shell.pty!.id, grace: { seconds: 20n } });
    expect([closed.pty!.exit!.status, closed.pty!.exit!.exitCode]).toEqual([ExecStatus.EXITED, 128 + 1]);
  });

  it("is refused with what to do when this machine cannot provide it (no bwrap on the daemon's PATH)", async () => {
    const d = await daemon({ PATH: "/nonexistent" });
    const f = await failure(d.client(WorkspaceService).createWorkspace({ displayName: "box", sandbox: SandboxProfile.BWRAP }));
    expect([f.code, f.reason]).toEqual([Code.FailedPrecondition, ErrorReason.SANDBOX_UNAVAILABLE]);
    expect(f.message).toMatch(/bubblewrap is not installed \(apt-get install bubblewrap\)/);
  });
});
