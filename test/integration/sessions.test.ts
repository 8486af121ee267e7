import { Code, ConnectError } from "@connectrpc/connect";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { userInfo } from "node:os";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { DaemonService } from "../../gen/tether/v1/daemon_service_pb.js";
import { ExecService } from "../../gen/tether/v1/exec_service_pb.js";
import { PtyService } from "../../gen/tether/v1/pty_service_pb.js";
import { StreamService } from "../../gen/tether/v1/stream_service_pb.js";
import { ErrorDetailSchema, ErrorReason } from "../../gen/tether/v1/errors_pb.js";
import { LogStream, RunStatus, SessionActivity, SessionStatus, type SessionEvent } from "../../gen/tether/v1/session_pb.js";
import { SessionOutcome, SessionService } from "../../gen/tether/v1/session_service_pb.js";
import { TaskService } from "../../gen/tether/v1/task_service_pb.js";
import { WorkspaceService } from "../../gen/tether/v1/workspace_service_pb.js";
import { CLI_ENTRY, daemonPerTest } from "../helpers/daemon.js";
import { failure } from "../helpers/errors.js";
import { execToEnd } from "../helpers/execs.js";
import { CAN_FILL_A_DISK, onSmallDisk } from "../helpers/full-disk.js";
import { alive, eventually, logText, waitQuiet, writeTaskFile } from "../helpers/sessions.js";
import { freePorts } from "../helpers/ports.js";
import { SELF_SIGNED_CERT, SELF_SIGNED_KEY } from "../helpers/self-signed.js";

const daemon = daemonPerTest();

function reasonOf(error: unknown): ErrorReason | undefined {
  return ConnectError.from(error).findDetails(ErrorDetailSchema)[0]?.reason;
}


describe("sessions: the task graph", () => {
  it("max_output keeps only the last of a session's output (docker's max-size): logs from 0 start at the oldest kept, a rerun keeps it, a start's own wins; too small is refused", async () => {
    const d = await daemon();
    const sessions = d.client(SessionService);
    const MiB = 1024 * 1024;
    // 48 MiB of numbered lines, each 64 bytes.
    const lines = (48 * MiB) / 64;
    const taskFile = writeTaskFile(`tasks:\n  flood:\n    max_output: 16M\n    cmd: |\n      awk 'BEGIN { for (i = 1; i <= ${lines}; i++) printf "%063d\\n", i }'\n  quiet: { cmd: 'true' }\n`);
    const { session } = await sessions.startSession({ task: "flood", taskFile });
    expect((await waitQuiet(sessions, session!.id)).exitCode).toBe(0);
    const shown = (await sessions.getSession({ name: session!.name })).session!;
    expect(Number(shown.outputMaxBytes)).toBe(16 * MiB);
    expect(Number(shown.outputFirstOffset)).toBeGreaterThanOrEqual(32 * MiB - MiB);
    // From the beginning: what is kept, whole chunks from where it starts, up to the last line.
    let first = -1;
    const parts: Buffer[] = [];
    for await (const msg of sessions.readSessionLogs({ name: session!.name })) {
      for (const c of msg.chunks) {
        if (first < 0) first = Number(c.logOffset);
        parts.push(Buffer.from(c.data));
      }
    }
    const kept = Buffer.concat(parts).toString();
    expect(first).toBe(Number(shown.outputFirstOffset));
    expect(kept.length).toBe(48 * MiB - first);
    expect(kept.length).toBeLessThanOrEqual(16 * MiB);
    expect(kept.endsWith(`${String(lines).padStart(63, "0")}\n`)).toBe(true);
    const gone = await failure((async () => {
      for await (const _ of sessions.readSessionLogs({ name: session!.name, fromOffset: 100n })) void _;
    })());
    expect([gone.code, gone.reason]).toEqual([Code.OutOfRange, ErrorReason.CURSOR_EXPIRED]);
    // The data files hold the kept output and at most one file more, once those dropped are deleted (off the daemon's thread).
    const onDisk = (): number => Number(spawnSync("du", ["-sb", join(d.home, "output")], { encoding: "utf8" }).stdout.split("\t")[0]);
    await eventually(() => (onDisk() <= 16 * MiB + 16 * MiB + MiB ? true : undefined));
    // A rerun keeps it; a start's own limit wins over the task's; too small is refused.
    const rerun = (await sessions.rerunSession({ name: session!.name })).session!;
    expect(Number(rerun.outputMaxBytes)).toBe(16 * MiB);
    await sessions.cancelSession({ name: rerun.name });
    const own = (await sessions.startSession({ task: "quiet", taskFile, outputMaxBytes: BigInt(20 * MiB) })).session!;
    expect(Number(own.outputMaxBytes)).toBe(20 * MiB);
    expect(Number((await sessions.startSession({ task: "quiet", taskFile })).session!.outputMaxBytes)).toBe(0);
    const small = await failure(sessions.startSession({ task: "quiet", taskFile, outputMaxBytes: BigInt(MiB) }));
    expect([small.code, small.message]).toEqual([Code.InvalidArgument, "output_max_bytes is 1048576: keep at least 16 MiB of output (0 keeps all of it)"]);
  });

  it("labels tag a session to find it again: listed by k=v and k selectors, page by page, kept by a rerun and across a restart; bad ones refused", async () => {
    const d = await daemon();
    let sessions = d.client(SessionService);
    const taskFile = writeTaskFile("tasks:\n  t: { cmd: 'true' }\n");
    const started = [];
    for (const labels of [{ conv: "42", team: "ml" }, { conv: "43" }, {}, { conv: "42" }]) started.push((await sessions.startSession({ task: "t", taskFile, labels })).session!);
    expect(started[0]!.labels).toEqual({ conv: "42", team: "ml" });
    const ids = async (labelSelector: string[], pageSize = 100): Promise<string[]> => {
      const found: string[] = [];
      let pageToken = "";
      do {
        const page = await sessions.listSessions({ labelSelector, pageSize, pageToken });
        found.push(...page.sessions.map((s) => s.id));
        pageToken = page.nextPageToken;
      } while (pageToken !== "");
      return found;
    };
    const [a, b, , c] = started.map((s) => s.id);
    expect(await ids(["conv=42"])).toEqual([c, a]);
    expect(await ids(["conv=42"], 1)).toEqual([c, a]);
    expect(await ids(["conv"])).toEqual([c, b, a]);
    expect(await ids(["conv=42", "team"])).toEqual([a]);
    expect(await ids(["conv=44"])).toEqual([]);
    const rerun = (await sessions.rerunSession({ name: `sessions/${a}` })).session!;
    expect(rerun.labels).toEqual({ conv: "42", team: "ml" });
    await d.kill();
    await d.restart();
    // A client of its own: the last one's connection went with the daemon killed.
    sessions = d.client(SessionService);
    expect((await sessions.getSession({ name: `sessions/${a}` })).session!.labels).toEqual({ conv: "42", team: "ml" });
    expect(await ids(["team=ml"])).toEqual([rerun.id, a]);
    const bad = await failure(sessions.startSession({ task: "t", taskFile, labels: { "no spaces": "x" } }));
    expect([bad.code, bad.message]).toEqual([Code.InvalidArgument, expect.stringContaining('label key "no spaces" is not allowed')]);
    const badSelector = await failure(sessions.listSessions({ labelSelector: ["a b=c"] }));
    expect(badSelector.code).toBe(Code.InvalidArgument);
  });

  it("retries make new ordered runs, and a failure skips downstreams while siblings finish", async () => {
    const d = await daemon();
    const client = d.client(SessionService);
    const file = writeTaskFile(`
tasks:
  flaky:
    cmd: echo "attempt $TETHER_RUN"; exit 3
    retries: 2
    retry_delay: 100ms
  slow:
    cmd: sleep 0.5; echo slow done
  main:
    cmd: echo never
    upstream: [flaky, slow]
`);
    const { session } = await client.startSession({ task: "main", taskFile: file });
    const done = await waitQuiet(client, session!.id);
    expect(done.status).toBe(SessionStatus.CLOSED);
    expect(done.exitCode).toBe(3);
    expect(done.error).toContain("upstream flaky failed");
    const { runs } = await client.listRuns({ parent: done.name });
    const flaky = runs.filter((r) => r.task === "flaky");
    expect(flaky.map((r) => r.attempt)).toEqual([1, 2, 3]);
    expect(flaky.map((r) => r.status)).toEqual([RunStatus.FAILED, RunStatus.FAILED, RunStatus.FAILED]);
    expect(flaky.map((r) => r.number)).toEqual([...flaky.map((r) => r.number)].sort((a, b) => a - b));
    // Each retry starts after the previous attempt failed plus the delay.
    for (let i = 1; i < flaky.length; i++) {
      const failedAt = Number(flaky[i - 1]!.transitions.at(-1)!.time!.seconds) * 1000 + flaky[i - 1]!.transitions.at(-1)!.time!.nanos / 1e6;
      const startedAt = Number(flaky[i]!.transitions[0]!.time!.seconds) * 1000 + flaky[i]!.transitions[0]!.time!.nanos / 1e6;
      expect(startedAt - failedAt).toBeGreaterThanOrEqual(90);
    }
    expect(runs.find((r) => r.task === "slow")!.status).toBe(RunStatus.SUCCEEDED);
    const main = runs.find((r) => r.task === "main")!;
    expect(main.status).toBe(RunStatus.SKIPPED);
    expect(main.transitions.map((t) => t.status)).toEqual([RunStatus.PENDING, RunStatus.SKIPPED]);
    const logs = await logText(client, done.id);
    expect(logs.stdout).toContain("slow done");
    expect(logs.stdout).not.toContain("never");
  });

  it("independent tasks run in parallel up to the session's limit, never more", async () => {
    const d = await daemon();
    const client = d.client(SessionService);
    // Each of six independent tasks notes its start and end in one file; the main task waits for them all.
    const tasks = ["a", "b", "c", "d", "e", "f"];
    const file = writeTaskFile(`tasks:\n${tasks.map((t) => `  ${t}: { cmd: 'echo + >> "$TETHER_SESSION.log"; sleep 0.6; echo - >> "$TETHER_SESSION.log"' }\n`).join("")}  all: { cmd: "true", upstream: [${tasks.join(", ")}] }\n`);
    const most = async (parallelism: number): Promise<number> => {
      const { session } = await client.startSession({ task: "all", taskFile: file, parallelism });
      expect((await waitQuiet(client, session!.id)).exitCode).toBe(0);
      let running = 0;
      let peak = 0;
      for (const mark of readFileSync(join(dirname(file), `${session!.id}.log`), "utf8").trim().split("\n")) {
        running += mark === "+" ? 1 : -1;
        peak = Math.max(peak, running);
      }
      return peak;
    };
    expect(await most(1)).toBe(1);
    expect(await most(3)).toBe(3);
  });

  it("--fail-fast cancels running siblings", async () => {
    const d = await daemon();
    const client = d.client(SessionService);
    const file = writeTaskFile(`
tasks:
  bad: { cmd: "exit 5" }
  slow: { cmd: "sleep 30" }
  main: { cmd: "true", upstream: [bad, slow] }
`);
    const { session } = await client.startSession({ task: "main", taskFile: file, failFast: true });
    const done = await waitQuiet(client, session!.id);
    const { runs } = await client.listRuns({ parent: done.name });
    expect(runs.find((r) => r.task === "slow")!.status).toBe(RunStatus.CANCELLED);
    expect(runs.find((r) => r.task === "slow")!.reason).toContain("fail-fast");
    expect(done.exitCode).toBe(5);
  });

  it("a sibling's retry still runs after another branch failed (the session waits for it); --fail-fast drops it, saying so", async () => {
    const d = await daemon();
    const client = d.client(SessionService);
    // flaky fails at once and succeeds when retried a second later; broken fails for good in between.
    const file = writeTaskFile(`
tasks:
  flaky: { cmd: 'test -f "$TETHER_SESSION.ok" || { touch "$TETHER_SESSION.ok"; exit 1; }', retries: 1, retry_delay: 1s }
  broken: { cmd: "sleep 0.1; exit 4" }
  main: { cmd: "true", upstream: [flaky, broken] }
`);
    const { session } = await client.startSession({ task: "main", taskFile: file });
    const done = await waitQuiet(client, session!.id);
    const { runs } = await client.listRuns({ parent: done.name });
    expect(runs.filter((r) => r.task === "flaky").map((r) => r.status)).toEqual([RunStatus.FAILED, RunStatus.SUCCEEDED]);
    expect(runs.find((r) => r.task === "main")!.status).toBe(RunStatus.SKIPPED);
    expect(done).toMatchObject({ status: SessionStatus.CLOSED, exitCode: 4, error: expect.stringContaining("upstream broken failed") });

    const { session: fast } = await client.startSession({ task: "main", taskFile: file, failFast: true });
    const reasons: string[] = [];
    for await (const { events } of client.watchSession({ name: fast!.name, follow: true })) reasons.push(...events.map((e) => e.reason));
    const fastRuns = (await client.listRuns({ parent: fast!.name })).runs;
    expect(fastRuns.filter((r) => r.task === "flaky").map((r) => r.status)).toEqual([RunStatus.FAILED]);
    expect(reasons).toContain("fail-fast: broken failed; not retried: flaky");
    expect((await client.getSession({ name: fast!.name })).session).toMatchObject({ status: SessionStatus.CLOSED, exitCode: 4 });
  });

  it("a task with fail_fast cancels its running siblings when it fails for good; another task's failure lets them finish", async () => {
    const d = await daemon();
    const client = d.client(SessionService);
    const file = writeTaskFile(`
tasks:
  critical: { cmd: "exit 5", fail_fast: true, retries: 1 }
  minor: { cmd: "exit 6" }
  slow: { cmd: "sleep 30" }
  quick: { cmd: "sleep 0.5" }
  main: { cmd: "true", upstream: [critical, slow] }
  other: { cmd: "true", upstream: [minor, quick] }
`);
    expect((await d.client(TaskService).listTasks({ taskFile: file })).tasks.find((t) => t.name === "tasks/critical")!.failFast).toBe(true);
    const { session } = await client.startSession({ task: "main", taskFile: file });
    const done = await waitQuiet(client, session!.id);
    const { runs } = await client.listRuns({ parent: done.name });
    // Both attempts ran: only the final failure cancels.
    expect(runs.filter((r) => r.task === "critical").map((r) => r.status)).toEqual([RunStatus.FAILED, RunStatus.FAILED]);
    expect(runs.find((r) => r.task === "slow")).toMatchObject({ status: RunStatus.CANCELLED, reason: expect.stringContaining("fail-fast: critical failed") });
    expect(done.exitCode).toBe(5);
    const { session: calm } = await client.startSession({ task: "other", taskFile: file });
    const calmDone = await waitQuiet(client, calm!.id);
    const calmRuns = (await client.listRuns({ parent: calmDone.name })).runs;
    expect(calmRuns.find((r) => r.task === "quick")!.status).toBe(RunStatus.SUCCEEDED);
    expect(calmDone.exitCode).toBe(6);
  });

  it("a task of upstreams alone (a group) succeeds once they have, running nothing, and gates its downstreams; skipped after a failed upstream or by its condition, and rerun as it ran", async () => {
    const d = await daemon();
    const client = d.client(SessionService);
    const file = writeTaskFile(`
tasks:
  lint: { cmd: echo linted }
  test: { cmd: "sleep 0.3; echo tested" }
  checks: { upstream: [lint, test] }
  deploy: { cmd: echo deployed, upstream: [checks] }
  bad: { cmd: exit 3 }
  broken: { upstream: [bad, lint] }
  quiet: { upstream: [lint], condition: "{{ inputs.go }}", inputs: { go: { type: bool, default: "false" } } }
`);
    const runsOf = async (id: string) => (await client.listRuns({ parent: `sessions/${id}` })).runs;
    const { session } = await client.startSession({ task: "deploy", taskFile: file });
    expect((await waitQuiet(client, session!.id)).exitCode).toBe(0);
    const runs = await runsOf(session!.id);
    const checks = runs.find((r) => r.task === "checks")!;
    expect([checks.status, checks.reason, checks.pid, checks.command]).toEqual([RunStatus.SUCCEEDED, "a group: its upstreams are done, and it runs nothing", 0, ""]);
    expect(checks.transitions.map((t) => RunStatus[t.status])).toEqual(["PENDING", "SUCCEEDED"]);
    // It succeeded once its slowest upstream had, and its downstream started after it.
    const at = (t: { seconds: bigint; nanos: number }) => Number(t.seconds) * 1e9 + t.nanos;
    const test = runs.find((r) => r.task === "test")!;
    const deploy = runs.find((r) => r.task === "deploy")!;
    expect(at(checks.transitions[1]!.time!)).toBeGreaterThanOrEqual(at(test.transitions.at(-1)!.time!));
    expect(at(deploy.transitions.find((t) => t.status === RunStatus.RUNNING)!.time!)).toBeGreaterThanOrEqual(at(checks.transitions[1]!.time!));
    expect((await logText(client, session!.id)).stdout.split("\n").sort()).toEqual(["", "deployed", "linted", "tested"]);
    // As the main task: the session's outcome is its upstreams'.
    const { session: broken } = await client.startSession({ task: "broken", taskFile: file });
    const ended = await waitQuiet(client, broken!.id);
    expect([ended.exitCode, ended.error]).toEqual([3, "task broken skipped: upstream bad failed"]);
    const { session: quiet } = await client.startSession({ task: "quiet", taskFile: file });
    expect((await waitQuiet(client, quiet!.id)).exitCode).toBe(0);
    expect((await runsOf(quiet!.id)).find((r) => r.task === "quiet")!.status).toBe(RunStatus.SKIPPED);
    const { session: again } = await client.rerunSession({ name: session!.name });
    expect((await waitQuiet(client, again!.id)).exitCode).toBe(0);
    expect((await runsOf(again!.id)).find((r) => r.task === "checks")!.status).toBe(RunStatus.SUCCEEDED);
  });

  it("readiness makes a service ready, gates its downstreams, and the service is stopped when the session ends (its timeout bounded the time until ready only)", async () => {
    const d = await daemon();
    const client = d.client(SessionService);
    const file = writeTaskFile(`
tasks:
  serve:
    cmd: echo $$ > serve.pid; sleep 0.4; touch ready; exec sleep 300
    readiness: { cmd: "test -f ready", interval: 100ms, timeout: 20s }
    timeout: 2s
  check:
    cmd: test -f ready && echo saw-ready; sleep 2.5
    upstream: [serve]
`);
    const { session } = await client.startSession({ task: "check", taskFile: file });
    const done = await waitQuiet(client, session!.id);
    expect(done.exitCode).toBe(0);
    const { runs } = await client.listRuns({ parent: done.name });
    const serve = runs.find((r) => r.task === "serve")!;
    const check = runs.find((r) => r.task === "check")!;
    const readyAt = serve.transitions.find((t) => t.status === RunStatus.READY)!.time!;
    const checkStarted = check.transitions.find((t) => t.status === RunStatus.RUNNING)!.time!;
    expect(Number(checkStarted.seconds) * 1e9 + checkStarted.nanos).toBeGreaterThanOrEqual(Number(readyAt.seconds) * 1e9 + readyAt.nanos);
    expect((await logText(client, done.id)).stdout).toContain("saw-ready");
    const pid = Number(readFileSync(join(dirname(file), "serve.pid"), "utf8"));
    await eventually(async () => {
      const r = (await client.listRuns({ parent: done.name })).runs.find((x) => x.task === "serve")!;
      return r.status === RunStatus.SUCCEEDED ? r : undefined;
    });
    expect((await client.listRuns({ parent: done.name })).runs.find((x) => x.task === "serve")!.reason).toBe("stopped at the end of the session");
    expect(alive(pid)).toBe(false);
  });

  it("a ready service's checks go on every health_interval: 3 failing in a row are an entry 'unhealthy: ...' in its state log (ready again), passing after 'healthy again'; it runs on; tasks shows the interval", async () => {
    const d = await daemon();
    const client = d.client(SessionService);
    // The service makes the file its check looks for, takes it away, and makes it again when told.
    const file = writeTaskFile(`
tasks:
  serve:
    cmd: touch up; while [ ! -f gone ]; do sleep 0.05; done; rm up; while [ ! -f back ]; do sleep 0.05; done; touch up; exec sleep 300
    readiness: { cmd: "test -f up", interval: 100ms, health_interval: 150ms }
`);
    const dir = dirname(file);
    const task = (await d.client(TaskService).listTasks({ taskFile: file })).tasks.find((t) => t.name === "tasks/serve")!;
    expect(Number(task.readiness!.healthInterval!.nanos) / 1e6).toBe(150);
    const { session } = await client.startSession({ task: "serve", taskFile: file });
    const serveRun = async () => (await client.listRuns({ parent: session!.name })).runs[0]!;
    await eventually(async () => ((await serveRun()).status === RunStatus.READY ? true : undefined));
    writeFileSync(join(dir, "gone"), "");
    const unhealthy = await eventually(async () => {
      const run = await serveRun();
      return run.reason.startsWith("unhealthy:") ? run : undefined;
    });
    expect(unhealthy.status).toBe(RunStatus.READY);
    expect(unhealthy.reason).toBe("unhealthy: cmd test -f up exited with code 1 (3 checks in a row, every 150ms)");
    expect(unhealthy.unhealthy).toBe(true);
    expect((await client.getSession({ name: session!.name })).session!.unhealthy).toBe(true);
    const show = spawnSync(process.execPath, [CLI_ENTRY, "show", session!.id], { env: d.env, encoding: "utf8" });
    expect(show.stdout).toMatch(/status\s+open, running \(unhealthy: /);
    expect(show.stdout).toMatch(/ready: unhealthy: cmd test -f up exited with code 1 \(3 checks in a row, every 150ms\)/);
    const ls = spawnSync(process.execPath, [CLI_ENTRY, "ls"], { env: d.env, encoding: "utf8" });
    expect(ls.stdout).toMatch(new RegExp(`${session!.id}\\s+serve\\s+open/running \\(unhealthy\\)`));
    writeFileSync(join(dir, "back"), "");
    const healthy = await eventually(async () => {
      const run = await serveRun();
      return run.reason.startsWith("healthy again") ? run : undefined;
    });
    // Its state log: running, ready, unhealthy, healthy again, each once; its process never stopped.
    expect(healthy.transitions.map((t) => `${RunStatus[t.status]} ${t.reason}`)).toEqual([
      "PENDING ",
      "QUEUED ",
      "RUNNING ",
      "READY readiness checks passed",
      "READY unhealthy: cmd test -f up exited with code 1 (3 checks in a row, every 150ms)",
      "READY healthy again: its readiness checks pass",
    ]);
    expect(alive(healthy.pid)).toBe(true);
    expect(healthy.unhealthy).toBe(false);
    expect((await client.getSession({ name: session!.name })).session!.unhealthy).toBe(false);
    expect((await client.getSession({ name: session!.name })).session!.status).toBe(SessionStatus.OPEN);
    await client.cancelSession({ name: session!.name });
  });

  it("a service whose checks fail while it waits in tether wait is waiting, not marked; ready again, the next round marks it unhealthy", async () => {
    const d = await daemon();
    const client = d.client(SessionService);
    // Told so once ready, it takes away what its check looks for and waits for go; each failing round leaves a line in fails.
    const file = writeTaskFile(`
tasks:
  serve:
    cmd: touch up; while [ ! -f gone ]; do sleep 0.05; done; rm up; tether wait go --timeout 60s; exec sleep 300
    readiness: { cmd: "test -f up || { echo x >> fails; false; }", interval: 100ms, health_interval: 100ms }
    streams: { go: input }
`);
    const dir = dirname(file);
    const { session } = await client.startSession({ task: "serve", taskFile: file });
    const serveRun = async () => (await client.listRuns({ parent: session!.name })).runs[0]!;
    await eventually(async () => ((await serveRun()).status === RunStatus.READY ? true : undefined));
    writeFileSync(join(dir, "gone"), "");
    await eventually(async () => ((await serveRun()).status === RunStatus.WAITING ? true : undefined));
    // Three rounds more failed while it waited: unhealthy, not shown on a waiting run.
    const failed = (): number => (existsSync(join(dir, "fails")) ? readFileSync(join(dir, "fails"), "utf8").length / 2 : 0);
    const before = failed();
    await eventually(async () => (failed() >= before + 3 ? true : undefined));
    const waiting = await serveRun();
    expect(waiting.status).toBe(RunStatus.WAITING);
    expect(waiting.unhealthy).toBe(false);
    await d.client(StreamService).sendInput({ session: session!.name, stream: "go", text: "{}" });
    const unhealthy = await eventually(async () => {
      const run = await serveRun();
      return run.reason.startsWith("unhealthy:") ? run : undefined;
    });
    expect(unhealthy.status).toBe(RunStatus.READY);
    expect(unhealthy.unhealthy).toBe(true);
    // Waiting, ready again as it took the record, then marked (it may have been marked once before it waited too).
    expect(unhealthy.transitions.map((t) => RunStatus[t.status]).slice(-3)).toEqual(["WAITING", "READY", "READY"]);
    expect(unhealthy.transitions.at(-2)!.reason).toMatch(/^took /);
    expect(unhealthy.transitions.at(-1)!.reason).toMatch(/^unhealthy: cmd .* exited with code 1 \(3 checks in a row, every 100ms\)$/);
    expect((await client.getSession({ name: session!.name })).session!.unhealthy).toBe(true);
    await client.cancelSession({ name: session!.name });
  });

  it("a service not ready in time fails saying why its check last failed (refused, an answer's status, a command's exit and output); an https one's self-signed certificate is no failure", async () => {
    const d = await daemon();
    const client = d.client(SessionService);
    const [tls, refused, unhealthy] = await freePorts(3);
    const file = writeTaskFile(`
tasks:
  tls:
    cmd: node tls-server.cjs ${tls}
    readiness: { http: "https://localhost:${tls}/", interval: 100ms, timeout: 20s }
  usetls: { cmd: echo tls-ok, upstream: [tls] }
  refused:
    cmd: sleep 30
    readiness: { tcp: "127.0.0.1:${refused}", interval: 100ms, timeout: 1s }
  unhealthy:
    cmd: node -e 'require("node:http").createServer((q, r) => r.writeHead(503).end()).listen(${unhealthy}, "127.0.0.1")'
    readiness: { http: "http://127.0.0.1:${unhealthy}/health", interval: 100ms, timeout: 1s }
  probe:
    cmd: sleep 30
    readiness: { cmd: "echo 'not up yet' >&2; exit 7", interval: 100ms, timeout: 1s }
  all: { cmd: "true", upstream: [usetls, refused, unhealthy, probe] }
`);
    const server = `const [key, cert] = ${JSON.stringify([SELF_SIGNED_KEY, SELF_SIGNED_CERT])};
require("node:https").createServer({ key, cert }, (q, r) => r.end("ok")).listen(Number(process.argv[2]), "127.0.0.1");`;
    writeFileSync(join(dirname(file), "tls-server.cjs"), server);
    const { session } = await client.startSession({ task: "all", taskFile: file });
    const done = await waitQuiet(client, session!.id);
    const { runs } = await client.listRuns({ parent: done.name });
    const reason = (task: string): string => runs.find((r) => r.task === task)!.reason;
    expect(runs.find((r) => r.task === "usetls")!.status).toBe(RunStatus.SUCCEEDED);
    expect(reason("refused")).toBe(`not ready after 1s: tcp 127.0.0.1:${refused}: ECONNREFUSED`);
    expect(reason("unhealthy")).toBe(`not ready after 1s: http://127.0.0.1:${unhealthy}/health answered 503 Service Unavailable`);
    expect(reason("probe")).toBe("not ready after 1s: cmd echo 'not up yet' >&2; exit 7 exited with code 7: not up yet");
  });

  it("a false condition skips the task and its downstream still runs; a result flows through xcom into a template", async () => {
    const d = await daemon();
    const client = d.client(SessionService);
    const file = writeTaskFile(`
tasks:
  version:
    cmd: echo "  1.2.3  "
    result: stdout
  optional:
    cmd: echo should-not-run
    condition: "{{ inputs.extra }}"
    inputs:
      extra: { type: bool, default: "false" }
  release:
    cmd: echo "releasing {{ xcom.version }}"; tether xcom set note "from $TETHER_TASK"
    upstream: [version, optional]
    result: stdout
`);
    const { session } = await client.startSession({ task: "release", taskFile: file });
    const done = await waitQuiet(client, session!.id);
    expect(done.exitCode).toBe(0);
    expect(done.result).toBe("releasing 1.2.3");
    const { runs } = await client.listRuns({ parent: done.name });
    expect(runs.find((r) => r.task === "optional")!.status).toBe(RunStatus.SKIPPED);
    const { session: full } = await client.getSession({ name: done.name });
    expect(Object.fromEntries(full!.xcom.map((x) => [x.key, x.value]))).toEqual({ version: "1.2.3", release: "releasing 1.2.3", note: "from release" });
    // An ended session's xcom is its history: refused with its status, as input is.
    const late = await failure(client.setXcom({ session: done.id, key: "note", value: "rewritten" }));
    expect(late).toMatchObject({ code: Code.FailedPrecondition, reason: ErrorReason.SESSION_NOT_OPEN });
    expect(late.message).toContain(`cannot set xcom in session ${done.id}: it is closed`);
    expect((await client.getXcom({ session: done.id, key: "note" })).entry?.value).toBe("from release");
  });

  it("the last record a run writes to the built-in result stream is its task's result, for downstreams and the session", async () => {
    const d = await daemon();
    const client = d.client(SessionService);
    const file = writeTaskFile(`
tasks:
  build:
    cmd: tether output result draft && tether output result '{"artifact":"app.tar"}'
  bad:
    cmd: printf '\\377' | tether output result --lines
  ship:
    cmd: echo "shipping $(tether xcom get build)"; tether output result shipped
    upstream: [build]
`);
    const { session } = await client.startSession({ task: "ship", taskFile: file });
    const done = await waitQuiet(client, session!.id);
    expect(done.exitCode).toBe(0);
    expect(done.result).toBe("shipped");
    expect((await logText(client, done.id)).stdout).toContain('shipping {"artifact":"app.tar"}');
    const { session: full } = await client.getSession({ name: done.name });
    expect(Object.fromEntries(full!.xcom.map((x) => [x.key, x.value]))).toEqual({ build: '{"artifact":"app.tar"}', ship: "shipped" });

    const { session: bad } = await client.startSession({ task: "bad", taskFile: file });
    const failed = await waitQuiet(client, bad!.id);
    expect(failed.exitCode).not.toBe(0);
    expect((await logText(client, failed.id)).stderr).toContain("a result is text");
    const { session: badFull } = await client.getSession({ name: failed.name });
    expect(badFull!.xcom).toEqual([]);
  });

  it("a timeout kills the run's process group and fails it", async () => {
    const d = await daemon();
    const client = d.client(SessionService);
    const file = writeTaskFile(`
tasks:
  hang:
    cmd: sleep 300 & echo $! > child.pid; wait
    timeout: 500ms
`);
    const { session } = await client.startSession({ task: "hang", taskFile: file });
    const done = await waitQuiet(client, session!.id);
    const { runs } = await client.listRuns({ parent: done.name });
    expect(runs[0]!.status).toBe(RunStatus.FAILED);
    expect(runs[0]!.reason).toContain("timed out after 500ms");
    const child = Number(readFileSync(join(dirname(file), "child.pid"), "utf8"));
    await eventually(() => (alive(child) ? undefined : true));
  });

  it("a run that exits stops what it left running in its process group, and its downstream starts at once", async () => {
    const d = await daemon();
    const client = d.client(SessionService);
    const file = writeTaskFile(`
tasks:
  leave:
    # The subshell says when its trap is set: a SIGTERM before that would end it as any other.
    cmd: (trap '' TERM; touch trapped; sleep 300) & echo $! > stubborn.pid; sleep 300 & echo $! > child.pid; until [ -e trapped ]; do sleep 0.01; done; echo left
  next:
    cmd: echo next
    upstream: [leave]
`);
    const { session } = await client.startSession({ task: "next", taskFile: file });
    const done = await waitQuiet(client, session!.id);
    expect(done.status).toBe(SessionStatus.CLOSED);
    const { runs } = await client.listRuns({ parent: done.name });
    expect(runs.map((r) => [r.task, r.status])).toEqual([["leave", RunStatus.SUCCEEDED], ["next", RunStatus.SUCCEEDED]]);
    const child = Number(readFileSync(join(dirname(file), "child.pid"), "utf8"));
    const stubborn = Number(readFileSync(join(dirname(file), "stubborn.pid"), "utf8"));
    // SIGTERM at the exit; one that ignores it gets SIGKILL after the grace.
    await eventually(() => (alive(child) ? undefined : true));
    expect(alive(stubborn)).toBe(true);
    await eventually(() => (alive(stubborn) ? undefined : true));
  });
});

describe("sessions: lifecycle", () => {
  it("close ends a session whose graph has finished (services left ready, a keep_open session idling) and refuses one still running, naming what it does", async () => {
    const d = await daemon();
    const client = d.client(SessionService);
    const file = writeTaskFile(`
tasks:
  long: { cmd: "sleep 300" }
  serve:
    cmd: exec sleep 300
    readiness: { cmd: "true", interval: 100ms }
  use: { cmd: "true", upstream: [serve], keep_open: true }
`);
    const { session: long } = await client.startSession({ task: "long", taskFile: file });
    await eventually(async () => ((await client.listRuns({ parent: long!.name })).runs[0]?.status === RunStatus.RUNNING ? true : undefined));
    const refused = await client.closeSession({ name: long!.name }).catch((e: unknown) => e);
    expect(ConnectError.from(refused).code).toBe(Code.FailedPrecondition);
    expect(reasonOf(refused)).toBe(ErrorReason.STILL_RUNNING);
    expect(ConnectError.from(refused).rawMessage).toBe(
      `session ${long!.id} has not finished (running): close ends a session whose graph has finished; wait for it (tether show ${long!.id} --wait), or stop its work with tether cancel ${long!.id}`,
    );
    expect((await client.getSession({ name: long!.name })).session!.status).toBe(SessionStatus.OPEN);
    await client.cancelSession({ name: long!.name });

    // use finished (the graph has its outcome), serve is ready: close stops the service, the session succeeded.
    const { session: used } = await client.startSession({ task: "use", taskFile: file });
    await eventually(async () => ((await client.listRuns({ parent: used!.name })).runs.find((r) => r.task === "use")?.status === RunStatus.SUCCEEDED ? true : undefined));
    const { session: closed } = await client.closeSession({ name: used!.name });
    expect(closed).toMatchObject({ status: SessionStatus.CLOSED, exitCode: 0 });
    const serve = await eventually(async () => {
      const r = (await client.listRuns({ parent: used!.name })).runs.find((x) => x.task === "serve")!;
      return r.status === RunStatus.SUCCEEDED ? r : undefined;
    });
    expect(serve.reason).toBe("stopped at the end of the session");
  });

  it("WaitSession answers once a session has an outcome, as docker wait: its end with the failing run's exit code; a keep_open one's finished graph, services still ready; at once when it has one; a cancel while it waits; a timeout says how to go on", async () => {
    const d = await daemon();
    const client = d.client(SessionService);
    const file = writeTaskFile(`
tasks:
  failing: { cmd: "sleep 0.5; exit 3" }
  long: { cmd: "sleep 300" }
  serve:
    cmd: exec sleep 300
    readiness: { cmd: "true", interval: 100ms }
  use: { cmd: "sleep 0.3", upstream: [serve], keep_open: true }
`);
    const { session: failing } = await client.startSession({ task: "failing", taskFile: file });
    const ended = (await client.waitSession({ name: failing!.name })).session!;
    expect([ended.status, ended.exitCode, ended.error, ended.graphFinished]).toEqual([SessionStatus.CLOSED, 3, "task failing failed: exited with code 3", true]);
    expect((await client.listRuns({ parent: failing!.name })).runs.map((r) => r.status)).toEqual([RunStatus.FAILED]);
    expect((await client.waitSession({ name: failing!.id.slice(0, 5) })).session!.exitCode).toBe(3);
    // A keep_open session's graph finished, its service still ready: that is its outcome.
    const { session: used } = await client.startSession({ task: "use", taskFile: file });
    expect((await client.getSession({ name: used!.name })).session!.graphFinished).toBe(false);
    const outcome = (await client.waitSession({ name: used!.name })).session!;
    expect([outcome.status, outcome.exitCode, outcome.graphFinished]).toEqual([SessionStatus.OPEN, 0, true]);
    const runs = (await client.listRuns({ parent: used!.name })).runs;
    expect(runs.map((r) => [r.task, r.status])).toEqual([["serve", RunStatus.READY], ["use", RunStatus.SUCCEEDED]]);
    await client.closeSession({ name: used!.name });
    // Still running by the timeout: DEADLINE_EXCEEDED; a cancel while one waits answers it.
    const { session: long } = await client.startSession({ task: "long", taskFile: file });
    const late = await failure(client.waitSession({ name: long!.name, timeout: { nanos: 300_000_000 } }));
    expect([late.code, late.reason, late.message]).toEqual([Code.DeadlineExceeded, ErrorReason.WAIT_TIMED_OUT, `session ${long!.id} had no outcome within 300ms: tether cancel ${long!.id} stops it; --timeout waits longer`]);
    const waiting = client.waitSession({ name: long!.name });
    await new Promise((resolve) => setTimeout(resolve, 100));
    await client.cancelSession({ name: long!.name, reason: "enough" });
    expect((await waiting).session).toMatchObject({ status: SessionStatus.CANCELLED, error: "cancelled: enough" });
  });

  it("cancel stops the whole process tree; cancelling again names the status", async () => {
    const d = await daemon();
    const client = d.client(SessionService);
    const file = writeTaskFile(`
tasks:
  tree:
    cmd: sh -c 'sleep 300 & echo $! > grandchild.pid; wait' & wait
`);
    const { session } = await client.startSession({ task: "tree", taskFile: file });
    const pidFile = join(dirname(file), "grandchild.pid");
    const grandchild = await eventually(() => {
      try {
        const pid = Number(readFileSync(pidFile, "utf8"));
        return pid > 0 ? pid : undefined;
      } catch {
        return undefined;
      }
    });
    // A reason is a line of every listing's outcome: a document is refused, and the session goes on.
    const essay = await failure(client.cancelSession({ name: session!.name, reason: "x".repeat(1025) }));
    expect([essay.code, essay.message]).toEqual([Code.InvalidArgument, expect.stringContaining("a cancel's reason is longer than 1024 characters")]);
    expect((await client.getSession({ name: session!.name })).session!.status).toBe(SessionStatus.OPEN);
    const { session: cancelled } = await client.cancelSession({ name: session!.name, reason: "test" });
    expect(cancelled!.status).toBe(SessionStatus.CANCELLED);
    const done = await waitQuiet(client, session!.id);
    expect(done.exitCode).toBe(130);
    const { runs } = await client.listRuns({ parent: done.name });
    expect(runs[0]!.status).toBe(RunStatus.CANCELLED);
    expect(alive(grandchild)).toBe(false);
    const again = await client.cancelSession({ name: session!.name }).catch((e: unknown) => e);
    expect(ConnectError.from(again).code).toBe(Code.FailedPrecondition);
    expect(reasonOf(again)).toBe(ErrorReason.SESSION_NOT_OPEN);
    expect(ConnectError.from(again).rawMessage).toContain("already cancelled");
  });

  it("a ttl expires a running session (its run cancelled) and an idle timeout a keep_open session left idle, its services ready or not; both say why", async () => {
    const d = await daemon();
    const client = d.client(SessionService);
    const file = writeTaskFile(`
tasks:
  long: { cmd: sleep 300 }
  chat: { cmd: "true", keep_open: true }
  db: { cmd: sleep 300, readiness: { cmd: "true" } }
  assistant: { cmd: "true", keep_open: true, upstream: [db] }
`);
    const { session: long } = await client.startSession({ task: "long", taskFile: file, ttl: { seconds: 1n } });
    const { session: chat } = await client.startSession({ task: "chat", taskFile: file, idleTimeout: { nanos: 500_000_000 } });
    const { session: assistant } = await client.startSession({ task: "assistant", taskFile: file, idleTimeout: { nanos: 500_000_000 } });
    for (const [s, why] of [[long!, "expired: its ttl of 1s passed"], [chat!, "expired: idle for 500ms"], [assistant!, "expired: idle for 500ms"]] as const) {
      const ended = await waitQuiet(client, s.id);
      expect(ended.status).toBe(SessionStatus.EXPIRED);
      // The state log says why; a run that was cut short fails the session with it.
      const events: SessionEvent[] = [];
      for await (const msg of client.watchSession({ name: s.name })) events.push(...msg.events);
      const ending = events.find((e) => e.status === SessionStatus.EXPIRED);
      expect([ending?.reason, ending?.run]).toEqual([why, undefined]);
      // A service left ready for the next input: the session is idle with it, not running, and its idle timeout counts.
      if (s === assistant) expect(events.find((e) => e.reason.startsWith("graph finished"))?.activity).toBe(SessionActivity.IDLE);
    }
    const long2 = (await client.getSession({ name: long!.name })).session!;
    expect([long2.error, long2.exitCode]).toEqual(["expired: its ttl of 1s passed", 130]);
    const { runs } = await client.listRuns({ parent: long!.name });
    expect([runs[0]!.status, runs[0]!.reason]).toEqual([RunStatus.CANCELLED, "expired: its ttl of 1s passed"]);
    // The keep_open session's graph had succeeded: it expired idle, not failed.
    const chat2 = (await client.getSession({ name: chat!.name })).session!;
    expect([chat2.error, chat2.exitCode]).toEqual(["", 0]);
    // Its service was stopped with it.
    const served = await client.listRuns({ parent: assistant!.name });
    expect(served.runs.map((r) => [r.task, r.status, r.reason])).toEqual([
      ["db", RunStatus.CANCELLED, "expired: idle for 500ms"],
      ["assistant", RunStatus.SUCCEEDED, "exited with code 0"],
    ]);
  });

  it("a ttl, an idle timeout, a task's timeout, a retry's delay and a wait's timeout of 30 days wait 30 days, not the 1 ms Node gives a timer past ~24.8", async () => {
    const d = await daemon();
    const client = d.client(SessionService);
    const file = writeTaskFile(`
tasks:
  slow: { cmd: echo started; exec sleep 300, timeout: 30d }
  flaky: { cmd: exit 1, retries: 1, retry_delay: 30d }
  ask: { cmd: tether wait approval --timeout 30d, streams: { approval: input } }
  chat: { cmd: "true", keep_open: true }
`);
    const month = { seconds: 30n * 86_400n };
    const started = await Promise.all(
      ["slow", "flaky", "ask", "chat"].map(async (task) => (await client.startSession({ task, taskFile: file, ttl: month, idleTimeout: month })).session!),
    );
    const [slow, flaky, ask, chat] = started;
    // Each settles into what it should be doing for the next month: running, a retry waiting, a wait, idle.
    const activities = [SessionActivity.RUNNING, SessionActivity.WAITING, SessionActivity.WAITING, SessionActivity.IDLE];
    await eventually(async () => {
      const now = await Promise.all(started.map(async (s) => (await client.getSession({ name: s.name })).session!));
      return now.every((s, i) => s.activity === activities[i] && s.status === SessionStatus.OPEN) ? true : undefined;
    });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    for (const s of started) expect((await client.getSession({ name: s.name })).session!.status, s.task).toBe(SessionStatus.OPEN);
    expect((await client.listRuns({ parent: slow!.name })).runs.map((r) => r.status)).toEqual([RunStatus.RUNNING]);
    expect((await client.listRuns({ parent: flaky!.name })).runs.map((r) => r.status)).toEqual([RunStatus.FAILED]);
    expect((await client.getSession({ name: flaky!.name })).session!.waitingFor).toContain("retry of flaky");
    expect((await client.listRuns({ parent: ask!.name })).runs.map((r) => r.status)).toEqual([RunStatus.WAITING]);
    expect(d.log()).not.toContain("TimeoutOverflowWarning");
    for (const s of [slow!, flaky!, ask!]) await client.cancelSession({ name: s.name });
    await client.closeSession({ name: chat!.name });
    // A negative one is none a caller could mean: refused, naming it (it was taken as no ttl at all).
    for (const [field, request] of [["ttl", { ttl: { seconds: -5n } }], ["idle_timeout", { idleTimeout: { seconds: -1n } }]] as const) {
      const refused = await failure(client.startSession({ task: "chat", taskFile: file, ...request }));
      expect([refused.code, refused.message]).toEqual([Code.InvalidArgument, `${field} must not be negative`]);
    }
  });

  it("a daemon started with no HOME, USER, LOGNAME, SHELL or PATH (env -i, a bare supervisor) gives its runs and execs the login's, from the password database, and systemd's PATH", async () => {
    const d = await daemon({ HOME: undefined, USER: undefined, LOGNAME: undefined, SHELL: undefined, PATH: undefined });
    const client = d.client(SessionService);
    const line = 'echo "[$HOME][$USER][$LOGNAME][$SHELL]"; echo "$PATH"';
    const { session } = await client.startSession({ task: "who", taskFile: writeTaskFile(`tasks:\n  who:\n    cmd: '${line}'\n`) });
    await waitQuiet(client, session!.id);
    const me = userInfo();
    const expected = `[${me.homedir}][${me.username}][${me.username}][${me.shell ?? ""}]\n${join(d.home, "bin")}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n`;
    expect((await logText(client, session!.id)).stdout).toBe(expected);
    await d.client(WorkspaceService).createWorkspace({ displayName: "w" });
    expect((await execToEnd(d.client(ExecService), "w", ["sh", "-c", line])).stdout).toBe(expected);
  });

  it("a daemon killed with -9 leaves live runs recorded lost after restart, and their processes are stopped", async () => {
    const d = await daemon();
    const client = d.client(SessionService);
    const file = writeTaskFile(`
tasks:
  long:
    cmd: echo started; echo $$ > long.pid; exec sleep 300
`);
    const { session } = await client.startSession({ task: "long", taskFile: file });
    const pid = await eventually(() => {
      try {
        return Number(readFileSync(join(dirname(file), "long.pid"), "utf8")) || undefined;
      } catch {
        return undefined;
      }
    });
    await eventually(async () => ((await logText(client, session!.id)).stdout.includes("started") ? true : undefined));
    await d.kill();
    await d.restart();
    const after = d.client(SessionService);
    const s = await eventually(async () => {
      const { session: got } = await after.getSession({ name: session!.name });
      return got!.status === SessionStatus.CLOSED ? got : undefined;
    });
    expect(s!.error).toContain("the daemon was not running");
    const { runs } = await after.listRuns({ parent: session!.name });
    expect(runs[0]!.status).toBe(RunStatus.LOST);
    expect(runs[0]!.transitions.map((t) => t.status)).toEqual([RunStatus.PENDING, RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.LOST]);
    expect((await logText(after, session!.id)).stdout).toBe("started\n");
    await eventually(() => (alive(pid) ? undefined : true));
  });

  it("a graceful daemon stop records live runs lost with the reason", async () => {
    const d = await daemon();
    const client = d.client(SessionService);
    const file = writeTaskFile(`tasks:\n  long: { cmd: "sleep 300" }\n`);
    const { session } = await client.startSession({ task: "long", taskFile: file });
    await eventually(async () => ((await client.listRuns({ parent: session!.name })).runs[0]!.status === RunStatus.RUNNING ? true : undefined));
    expect(await d.stop()).toBe(0);
    await d.restart();
    const { runs } = await d.client(SessionService).listRuns({ parent: session!.name });
    expect(runs[0]!.status).toBe(RunStatus.LOST);
    expect(runs[0]!.reason).toContain("the daemon was stopped (SIGTERM)");
  });

  it("while the daemon stops, nothing new starts: an exec, a PTY and a session are refused, and input to a keep_open session waits for the next daemon", async () => {
    const d = await daemon();
    const client = d.client(SessionService);
    await d.client(WorkspaceService).createWorkspace({ displayName: "w" });
    const file = writeTaskFile(`
tasks:
  stubborn: { cmd: "trap '' TERM; echo up; sleep 60" }
  chat: { cmd: "echo turn", keep_open: true, streams: { inbox: input } }
`);
    const { session: chat } = await client.startSession({ task: "chat", taskFile: file });
    await eventually(async () => ((await client.getSession({ name: chat!.name })).session!.exitCode === 0 ? true : undefined));
    // Its run ignores SIGTERM: the stop waits out the kill grace (5 s) before SIGKILL, and the daemon serves meanwhile.
    const { session: stubborn } = await client.startSession({ task: "stubborn", taskFile: file });
    await eventually(async () => ((await logText(client, stubborn!.id)).stdout.includes("up") ? true : undefined));
    await d.client(DaemonService).shutdownDaemon({});
    for (const refused of [
      await failure(execToEnd(d.client(ExecService), "w", ["sleep", "60"])),
      await failure(d.client(PtyService).createPty({ spec: { workspace: "w", argv: ["sleep", "60"] } })),
      await failure(client.startSession({ task: "chat", taskFile: file })),
    ]) {
      expect([refused.code, refused.reason, refused.message]).toEqual([Code.Unavailable, ErrorReason.DAEMON_SHUTTING_DOWN, "the daemon is shutting down: nothing new starts; run the command again and it will start a new daemon"]);
    }
    const sent = await d.client(StreamService).sendInput({ session: chat!.name, stream: "inbox", text: "hello" });
    expect(sent.record!.sequence).toBe(1n);
    expect((await client.listRuns({ parent: chat!.name })).runs).toHaveLength(1);
    expect(await d.stop()).toBe(0);
    await d.restart();
    // The next daemon answers it.
    const runs = await eventually(async () => {
      const { runs } = await d.client(SessionService).listRuns({ parent: chat!.name });
      return runs.length === 2 && runs[1]!.status === RunStatus.SUCCEEDED ? runs : undefined;
    });
    expect(runs.map((r) => r.task)).toEqual(["chat", "chat"]);
  });

  it("a retry waiting out its delay shows as what the session waits for, counting down, and outlives the daemon: stopped or killed, the next one runs it when its delay is over", async () => {
    const d = await daemon();
    const client = d.client(SessionService);
    const file = writeTaskFile(`tasks:\n  flaky: { cmd: 'test -f "$TETHER_SESSION.ok" || { touch "$TETHER_SESSION.ok"; exit 2; }', retries: 1, retry_delay: 8s }\n  quick: { cmd: 'test -f "$TETHER_SESSION.ok" || { touch "$TETHER_SESSION.ok"; exit 2; }', retries: 1, retry_delay: 1s }\n`);
    const retryWaiting = async (c: typeof client, name: string): Promise<true | undefined> =>
      (await c.listRuns({ parent: name })).runs[0]?.status === RunStatus.FAILED ? true : undefined;
    const { session: stopped } = await client.startSession({ task: "flaky", taskFile: file });
    await eventually(() => retryWaiting(client, stopped!.name));
    // What it waits for counts down, in whole seconds.
    const secondsLeft = async (c: typeof client): Promise<number> => {
      const { session } = await c.getSession({ name: stopped!.name });
      expect(session).toMatchObject({ status: SessionStatus.OPEN, activity: SessionActivity.WAITING, waitingFor: expect.stringMatching(/^retry of flaky in \d+s$/) });
      return Number(/in (\d+)s/.exec(session!.waitingFor)![1]);
    };
    const first = await secondsLeft(client);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const second = await secondsLeft(client);
    expect(second).toBeLessThan(first);
    expect(await d.stop()).toBe(0);
    await d.restart();
    // The next daemon owes it still, for what is left of its delay, not a new one.
    const afterStop = d.client(SessionService);
    expect(await secondsLeft(afterStop)).toBeLessThanOrEqual(second);
    const done = await waitQuiet(afterStop, stopped!.id);
    expect(done).toMatchObject({ status: SessionStatus.CLOSED, exitCode: 0 });
    expect((await afterStop.listRuns({ parent: stopped!.name })).runs.map((r) => [r.attempt, RunStatus[r.status]])).toEqual([
      [1, "FAILED"],
      [2, "SUCCEEDED"],
    ]);

    // Killed, and down for longer than the delay: the retry runs as soon as the next daemon starts.
    const { session: killed } = await afterStop.startSession({ task: "quick", taskFile: file });
    await eventually(() => retryWaiting(afterStop, killed!.name));
    await d.kill();
    await new Promise((resolve) => setTimeout(resolve, 1200));
    await d.restart();
    const afterKill = d.client(SessionService);
    expect(await waitQuiet(afterKill, killed!.id)).toMatchObject({ status: SessionStatus.CLOSED, exitCode: 0 });
    expect((await afterKill.listRuns({ parent: killed!.name })).runs.map((r) => RunStatus[r.status])).toEqual(["FAILED", "SUCCEEDED"]);
  });

  it("a session whose ttl passed while no daemon ran expires when the next one starts, its retry owed not run", async () => {
    const d = await daemon();
    const client = d.client(SessionService);
    const file = writeTaskFile(`tasks:\n  flaky: { cmd: "exit 2", retries: 1, retry_delay: 30s }\n`);
    const { session } = await client.startSession({ task: "flaky", taskFile: file, ttl: { seconds: 2n } });
    await eventually(async () => ((await client.listRuns({ parent: session!.name })).runs[0]?.status === RunStatus.FAILED ? true : undefined));
    await d.kill();
    await new Promise((resolve) => setTimeout(resolve, 2200));
    await d.restart();
    const after = d.client(SessionService);
    expect(await waitQuiet(after, session!.id)).toMatchObject({ status: SessionStatus.EXPIRED, error: "expired: its ttl of 2s passed" });
    expect((await after.listRuns({ parent: session!.name })).runs.map((r) => RunStatus[r.status])).toEqual(["FAILED"]);
  });

  it("external_id makes start idempotent, ids accept a unique prefix, and an ambiguous prefix lists candidates", async () => {
    const d = await daemon();
    const client = d.client(SessionService);
    const file = writeTaskFile(`tasks:\n  hi: { cmd: "echo hi" }\n`);
    const first = await client.startSession({ task: "hi", taskFile: file, externalId: "job-42" });
    const second = await client.startSession({ task: "hi", taskFile: file, externalId: "job-42" });
    expect(second.alreadyExisted).toBe(true);
    expect(second.session!.id).toBe(first.session!.id);
    // Sent at once, before any is stored: one session per id, the others told it existed.
    const atOnce = await Promise.all(Array.from({ length: 20 }, (_, i) => client.startSession({ task: "hi", taskFile: file, externalId: `batch-${i % 2}` })));
    for (const id of ["batch-0", "batch-1"]) {
      const mine = atOnce.filter((_, i) => `batch-${i % 2}` === id);
      expect(new Set(mine.map((r) => r.session!.id)).size).toBe(1);
      expect(mine.filter((r) => !r.alreadyExisted)).toHaveLength(1);
    }
    await client.startSession({ task: "hi", taskFile: file });
    const id = first.session!.id;
    expect((await client.getSession({ name: `sessions/${id.slice(0, 5)}` })).session!.id).toBe(id);
    const ambiguous = await client.getSession({ name: "sessions/s-" }).catch((e: unknown) => e);
    expect(reasonOf(ambiguous)).toBe(ErrorReason.SESSION_AMBIGUOUS);
    expect(ConnectError.from(ambiguous).rawMessage).toContain(id);
    const missing = await client.getSession({ name: "sessions/zzz" }).catch((e: unknown) => e);
    expect(ConnectError.from(missing).code).toBe(Code.NotFound);
  });

  it("a rerun starts the graph the session recorded with its inputs (the request's over them, secrets given again) in its workspace, and names the session it reruns", async () => {
    const d = await daemon();
    const client = d.client(SessionService);
    const yaml = (main: string) =>
      `tasks:\n  prep: { cmd: "echo prep-{{ inputs.mode }}" }\n  main:\n    cmd: ${main}\n    upstream: [prep]\n    inputs:\n      mode: { type: string, default: a }\n      token: { type: secret }\n`;
    const file = writeTaskFile(yaml(`echo "main-{{ inputs.mode }} token-$(printf %s "$TETHER_INPUT_TOKEN" | wc -c)"`));
    const { session: first } = await client.startSession({ task: "main", taskFile: file, inputs: { mode: "b", token: "four" } });
    expect((await waitQuiet(client, first!.id)).exitCode).toBe(0);
    // The file changes; a rerun runs what the session ran.
    writeFileSync(file, yaml("echo edited"));

    const noSecret = await failure(client.rerunSession({ name: `sessions/${first!.id}` }));
    expect([noSecret.code, noSecret.reason, noSecret.message]).toEqual([Code.InvalidArgument, ErrorReason.INPUT_INVALID, `session ${first!.id}'s secret input token was never stored: give it again (--input token=VALUE)`]);
    const { session: again, alreadyExisted } = await client.rerunSession({ name: `sessions/${first!.id.slice(0, 5)}`, inputs: { token: "seven77" }, externalId: "rerun-1" });
    expect(alreadyExisted).toBe(false);
    expect(again).toMatchObject({ task: "main", rerunOf: first!.id, tasks: ["prep", "main"], inputs: { mode: "b", token: "<secret>" }, workspace: first!.workspace, taskFile: file });
    expect((await waitQuiet(client, again!.id)).exitCode).toBe(0);
    expect((await logText(client, again!.id)).stdout).toBe("prep-b\nmain-b token-7\n");
    expect((await client.rerunSession({ name: first!.name, inputs: { token: "x" }, externalId: "rerun-1" })).session!.id).toBe(again!.id);

    // A rerun of a rerun, an input replaced; an unknown input is refused as a start refuses it.
    const { session: third } = await client.rerunSession({ name: again!.name, inputs: { mode: "c", token: "x" } });
    expect(third!.rerunOf).toBe(again!.id);
    await waitQuiet(client, third!.id);
    expect((await logText(client, third!.id)).stdout).toBe("prep-c\nmain-c token-1\n");
    const unknown = await failure(client.rerunSession({ name: first!.name, inputs: { token: "x", colour: "red" } }));
    expect([unknown.code, unknown.message]).toEqual([Code.InvalidArgument, 'unknown input "colour": this task graph declares mode, token']);
    const missing = await failure(client.rerunSession({ name: "sessions/s-nope" }));
    expect(missing.code).toBe(Code.NotFound);
    // A session started afresh names none.
    expect((await client.getSession({ name: first!.name })).session!.rerunOf).toBe("");

    // The task file's directory, adopted by default, removed since: adopted again, as a start would.
    const workspaces = d.client(WorkspaceService);
    await workspaces.deleteWorkspace({ workspace: first!.workspace.replace("workspaces/", "") });
    const { session: readopted } = await client.rerunSession({ name: first!.name, inputs: { token: "x" } });
    expect(readopted!.workspace).not.toBe(first!.workspace);
    expect(readopted!.workingDirectory).toBe(first!.workingDirectory);
    expect((await waitQuiet(client, readopted!.id)).exitCode).toBe(0);
    // A workspace named at start, removed since: refused, as a start in it would be.
    await workspaces.createWorkspace({ displayName: "elsewhere" });
    const { session: named } = await client.startSession({ task: "main", taskFile: file, inputs: { token: "x" }, workspace: "elsewhere" });
    await waitQuiet(client, named!.id);
    await workspaces.deleteWorkspace({ workspace: "elsewhere" });
    const gone = await failure(client.rerunSession({ name: named!.name, inputs: { token: "x" } }));
    expect([gone.code, gone.message]).toEqual([Code.FailedPrecondition, `workspace elsewhere (${named!.workspace.replace("workspaces/", "")}) was removed: nothing starts in it any more; create a new one with tether ws create`]);
  });

  it("ls pages newest first and filters by status and task", async () => {
    const d = await daemon();
    const client = d.client(SessionService);
    const file = writeTaskFile(`tasks:\n  a: { cmd: "true" }\n  b: { cmd: "sleep 300" }\n`);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await client.startSession({ task: "a", taskFile: file })).session!.id);
    const open = (await client.startSession({ task: "b", taskFile: file })).session!.id;
    for (const id of ids) await waitQuiet(client, id);
    const seen: string[] = [];
    let pageToken = "";
    do {
      const page = await client.listSessions({ pageSize: 2, pageToken });
      seen.push(...page.sessions.map((s) => s.id));
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    expect(seen).toEqual([open, ...ids.reverse()]);
    const running = await client.listSessions({ status: SessionStatus.OPEN });
    expect(running.sessions.map((s) => s.id)).toEqual([open]);
    expect(running.sessions[0]!.activity).toBe(SessionActivity.RUNNING);
    expect((await client.listSessions({ task: "a" })).sessions).toHaveLength(5);
    await client.cancelSession({ name: `sessions/${open}` });
  });

  it("ls filters by an open session's activity now (pages filled past the others) and by outcome (exit code 0, or another)", async () => {
    const d = await daemon();
    const client = d.client(SessionService);
    const file = writeTaskFile(`tasks:\n  ok: { cmd: "true" }\n  bad: { cmd: "exit 3" }\n  busy: { cmd: "sleep 300" }\n  chat: { cmd: "true", keep_open: true, streams: { inbox: input } }\n`);
    const start = async (task: string) => (await client.startSession({ task, taskFile: file })).session!.id;
    const busy = [await start("busy")];
    const ended = [await start("ok"), await start("bad")];
    // Idle ones between the running ones: a page of running ones reads past them.
    const idle = [await start("chat"), await start("chat"), await start("chat")];
    busy.push(await start("busy"), await start("busy"));
    for (const id of [...ended, ...idle]) await waitQuiet(client, id);
    for (const id of busy) await eventually(async () => ((await client.getSession({ name: `sessions/${id}` })).session!.activity === SessionActivity.RUNNING ? true : undefined));
    const ids = async (filter: { activity?: SessionActivity; outcome?: SessionOutcome; status?: SessionStatus }, pageSize = 0): Promise<string[]> => {
      const seen: string[] = [];
      let pageToken = "";
      do {
        const page = await client.listSessions({ ...filter, pageSize, pageToken });
        if (pageSize > 0 && page.nextPageToken !== "") expect(page.sessions).toHaveLength(pageSize);
        seen.push(...page.sessions.map((s) => s.id));
        pageToken = page.nextPageToken;
      } while (pageToken !== "");
      return seen;
    };
    expect(await ids({ activity: SessionActivity.RUNNING }, 2)).toEqual([...busy].reverse());
    expect(await ids({ activity: SessionActivity.IDLE }, 1)).toEqual([...idle].reverse());
    expect(await ids({ activity: SessionActivity.RUNNING, status: SessionStatus.CLOSED })).toEqual([]);
    // A keep_open session idling has its outcome while it stays open.
    expect(await ids({ outcome: SessionOutcome.SUCCEEDED })).toEqual([...[...idle].reverse(), ended[0]]);
    expect(await ids({ outcome: SessionOutcome.FAILED })).toEqual([ended[1]]);
    await client.cancelSession({ name: `sessions/${busy[0]}` });
    expect(await ids({ outcome: SessionOutcome.FAILED }, 1)).toEqual([ended[1], busy[0]]);
    const ls = (...args: string[]) => spawnSync(process.execPath, [CLI_ENTRY, "ls", "-q", ...args], { env: d.env, encoding: "utf8" });
    expect(ls("--status", "running").stdout).toBe(`${busy[2]}\n${busy[1]}\n`);
    expect(ls("--status", "failed").stdout).toBe(`${ended[1]}\n${busy[0]}\n`);
    expect(ls("--status", "idle", "-n", "1").stdout).toBe(`${idle[2]}\n`);
    expect(ls("--status", "finished").stderr).toBe('tether: --status takes open, closed, cancelled, expired, idle, queued, running, waiting, succeeded or failed, got "finished"\n');
    const unknown = await failure(client.listSessions({ activity: 9 as SessionActivity }));
    expect([unknown.code, unknown.message]).toEqual([Code.InvalidArgument, "activity 9 is none of the ones a listing filters by: 1 (idle), 2 (queued), 3 (running), 4 (waiting)"]);
    for (const id of [...busy.slice(1), ...idle]) await client.cancelSession({ name: `sessions/${id}` });
  });
});

describe("sessions: runs", () => {
  it("list a page at a time in order, live or stored, and tether show lists every run of a graph larger than a page", async () => {
    const d = await daemon();
    const client = d.client(SessionService);
    // 1,000 tasks skipped by their condition (no process each) and one that runs after them: 1,001 runs.
    const names = Array.from({ length: 1000 }, (_, i) => `t${i}`);
    const file = writeTaskFile(`tasks:\n${names.map((n) => `  ${n}: { cmd: "true", condition: "false" }\n`).join("")}  all: { cmd: "sleep 300", upstream: [${names.join(", ")}] }\n`);
    const { session } = await client.startSession({ task: "all", taskFile: file });
    await eventually(async () => ((await client.listRuns({ parent: session!.name, pageToken: "" })).nextPageToken !== "" ? true : undefined));
    const pages = async (): Promise<number[][]> => {
      const out: number[][] = [];
      let pageToken = "";
      do {
        const page = await client.listRuns({ parent: session!.name, pageSize: 400, pageToken });
        out.push(page.runs.map((r) => r.number));
        pageToken = page.nextPageToken;
      } while (pageToken !== "");
      return out;
    };
    const expected = [400, 400, 201].map((n, p) => Array.from({ length: n }, (_, i) => p * 400 + i + 1));
    expect(await pages()).toEqual(expected);
    expect((await client.listRuns({ parent: session!.name })).runs).toHaveLength(1000);
    const bad = await failure(client.listRuns({ parent: session!.name, pageToken: "bm9wZQ" }));
    expect([bad.code, bad.message]).toEqual([Code.InvalidArgument, "page_token is not one this daemon issued"]);
    await client.cancelSession({ name: session!.name });
    await waitQuiet(client, session!.id);
    // Ended: the pages come from the store.
    await eventually(async () => ((await client.getSession({ name: session!.name })).session!.status === SessionStatus.CANCELLED ? true : undefined));
    expect(await pages()).toEqual(expected);
    const show = spawnSync(process.execPath, [CLI_ENTRY, "show", session!.id], { env: d.env, encoding: "utf8" });
    expect(show.status).toBe(0);
    const listed = show.stdout.split("\n").filter((line) => /^\s+\d+\s+(t\d+|all)\s+attempt 1/.test(line));
    expect(listed).toHaveLength(1001);
    expect(listed.at(-1)).toMatch(/^\s+1001\s+all\s+attempt 1\s+cancelled/);
  });
});

describe("sessions: output", () => {
  it("keeps every byte of a fast-exiting run, stdout and stderr apart with offsets", async () => {
    const d = await daemon();
    const client = d.client(SessionService);
    const file = writeTaskFile(`
tasks:
  burst:
    cmd: head -c 300000 /dev/zero | tr '\\0' x; echo err-line >&2
`);
    for (let i = 0; i < 5; i++) {
      const { session } = await client.startSession({ task: "burst", taskFile: file });
      await waitQuiet(client, session!.id);
      const chunks = [];
      for await (const msg of client.readSessionLogs({ name: session!.name })) chunks.push(...msg.chunks);
      const out = chunks.filter((c) => c.stream === LogStream.STDOUT);
      expect(out.reduce((n, c) => n + c.data.byteLength, 0)).toBe(300000);
      let offset = 0n;
      for (const c of out) {
        expect(c.offset).toBe(offset);
        offset += BigInt(c.data.byteLength);
      }
      expect(Buffer.concat(chunks.filter((c) => c.stream === LogStream.STDERR).map((c) => c.data)).toString()).toBe("err-line\n");
    }
  });

  it("reads from the last lines of the output selected, across runs, then follows; a tail with a byte offset is refused", async () => {
    const d = await daemon();
    const client = d.client(SessionService);
    const file = writeTaskFile(`
tasks:
  early:
    cmd: seq 1 100
  talk:
    cmd: seq 1 3; sleep 1; echo later
    upstream: [early]
`);
    const { session } = await client.startSession({ task: "talk", taskFile: file });
    const text = async (request: { tailLines: number; task?: string; follow?: boolean; fromOffset?: bigint }) => {
      let out = "";
      for await (const msg of client.readSessionLogs({ name: session!.name, ...request })) for (const c of msg.chunks) out += Buffer.from(c.data).toString();
      return out;
    };
    await eventually(async () => ((await logText(client, session!.id)).stdout.endsWith("\n1\n2\n3\n") ? true : undefined));
    expect(await text({ tailLines: 2, follow: true })).toBe("2\n3\nlater\n");
    expect(await text({ tailLines: 7 })).toBe("98\n99\n100\n1\n2\n3\nlater\n");
    expect(await text({ tailLines: 2, task: "early" })).toBe("99\n100\n");
    expect(await text({ tailLines: 0 })).toBe("");
    const both = await text({ tailLines: 1, fromOffset: 4n }).then(
      () => undefined,
      (e: unknown) => ConnectError.from(e),
    );
    expect([both?.code, reasonOf(both)]).toEqual([Code.InvalidArgument, ErrorReason.INVALID_ARGUMENT]);
  });

  it("a command that does not exist fails its run with the OS error in its log; the daemon keeps serving", async () => {
    const d = await daemon();
    const client = d.client(SessionService);
    const file = writeTaskFile(`tasks:\n  ghost: { cmd: ["no-such-command-xyz", "arg"] }\n`);
    const { session } = await client.startSession({ task: "ghost", taskFile: file });
    const done = await waitQuiet(client, session!.id);
    expect(done.exitCode).toBe(127);
    const { runs } = await client.listRuns({ parent: done.name });
    expect(runs[0]!.status).toBe(RunStatus.FAILED);
    expect((await logText(client, done.id)).stderr).toContain("ENOENT");
    expect((await client.listSessions({})).sessions.length).toBe(1);
  });

  it("a command found but unable to run (a script with Windows line endings, one not executable) fails its run saying why, with a shell's exit code", async () => {
    const d = await daemon();
    const client = d.client(SessionService);
    const file = writeTaskFile(`tasks:\n  crlf: { cmd: ["./build.sh"] }\n  plain: { cmd: ["./plain.sh"] }\n`);
    writeFileSync(join(file, "..", "build.sh"), "#!/bin/sh\r\necho built\r\n", { mode: 0o755 });
    writeFileSync(join(file, "..", "plain.sh"), "echo plain\n", { mode: 0o644 });
    const ends = async (task: string) => {
      const { session } = await client.startSession({ task, taskFile: file });
      const done = await waitQuiet(client, session!.id);
      const { runs } = await client.listRuns({ parent: done.name });
      return [done.exitCode, runs[0]!.status, (await logText(client, done.id)).stderr];
    };
    expect(await ends("crlf")).toEqual([127, RunStatus.FAILED, expect.stringContaining("tether: cannot start ./build.sh: spawn ./build.sh ENOENT: its #! line ends in a carriage return (Windows line endings)")]);
    expect(await ends("plain")).toEqual([126, RunStatus.FAILED, "tether: cannot start ./plain.sh: spawn ./plain.sh EACCES: permission denied\n"]);
  });

  // Needs a small file system of its own: a tmpfs, which only root may mount (CI runs as root).
  it.skipIf(!CAN_FILL_A_DISK)("on a full disk a run whose output cannot all be stored says so in its state log, keeps what was stored, and the daemon goes on", () =>
    onSmallDisk(async (d) => {
      const client = d.client(SessionService);
      const file = writeTaskFile(`tasks:\n  flood: { cmd: ["head", "-c", "200000000", "/dev/zero"] }\n`);
      const { session } = await client.startSession({ task: "flood", taskFile: file });
      const done = await waitQuiet(client, session!.id);
      // The run's end and the session's close are stored: output never takes the last of the disk.
      expect([done.status, done.exitCode]).toEqual([SessionStatus.CLOSED, 0]);
      const { runs } = await client.listRuns({ parent: done.name });
      const last = runs[0]!.transitions.at(-1)!;
      expect(last.status).toBe(RunStatus.SUCCEEDED);
      expect(last.reason).toMatch(/^exited with code 0; \d+ bytes of output could not be stored \(.*ENOSPC.*\)/);
      // What was stored reads back; the daemon answers as before.
      expect((await logText(client, done.id)).stdout.length).toBeGreaterThan(1024 * 1024);
      expect((await d.client(DaemonService).getDaemonInfo({})).daemon?.pid).toBe(d.process.pid);
    }),
    60_000,
  );

  it.skipIf(!CAN_FILL_A_DISK)("a run's end that could not be stored (the disk filled to the last byte) is stored again once there is room: after kill -9 it is succeeded, not lost", () =>
    onSmallDisk(async (d) => {
      const client = d.client(SessionService);
      // The task itself fills the file system, past what tether keeps free.
      const filler = join(d.home, "..", "filler");
      const file = writeTaskFile(`tasks:\n  fill: { cmd: ["sh", "-c", "head -c 100000000 /dev/zero > ${filler}; true"] }\n`);
      const { session } = await client.startSession({ task: "fill", taskFile: file });
      const done = await waitQuiet(client, session!.id);
      // The daemon says what happened, from memory: the store does not hold it yet.
      expect([done.status, done.exitCode]).toEqual([SessionStatus.CLOSED, 0]);
      await eventually(() => (d.log().includes(`session ${session!.id}: a state change was not stored`) ? true : undefined));
      rmSync(filler);
      const storedAgain = async (): Promise<true | undefined> => {
        for await (const msg of client.watchSession({ name: done.name })) {
          if (msg.events.some((e) => e.reason === "state stored again after a change that could not be stored")) return true;
        }
        return undefined;
      };
      await eventually(storedAgain);
      await d.kill();
      await d.restart();
      const after = (await d.client(SessionService).getSession({ name: done.name })).session!;
      expect([after.status, after.exitCode]).toEqual([SessionStatus.CLOSED, 0]);
      const { runs } = await d.client(SessionService).listRuns({ parent: done.name });
      expect([runs[0]!.status, runs[0]!.exitCode]).toEqual([RunStatus.SUCCEEDED, 0]);
    }),
    60_000,
  );
});

describe("sessions: bad input", () => {
  it("refuses an invalid task file with file, line and reason for every problem", async () => {
    const d = await daemon();
    const file = writeTaskFile(`tasks:
  a:
    cmd: echo a
    upstream: [b]
  b:
    cmd: echo b
    upstream: [a]
  c:
    cmd: echo c
    upstream: [nope]
  d:
    cmd: echo d
    inputs:
      n: { type: integer }
`);
    const error = await d.client(TaskService).listTasks({ taskFile: file }).catch((e: unknown) => e);
    expect(ConnectError.from(error).code).toBe(Code.InvalidArgument);
    expect(reasonOf(error)).toBe(ErrorReason.TASK_FILE_INVALID);
    const message = ConnectError.from(error).rawMessage;
    expect(message).toContain(`${file}:10: task "c": unknown upstream "nope"`);
    expect(message).toContain('bad input type "integer"');
    expect(message).toMatch(/cycle: a -> b -> a/);
  });

  it("refuses a task file that is not a regular file of at most 256 KiB, holding no one: a FIFO nobody writes, /dev/zero, a directory, a huge file", async () => {
    const d = await daemon();
    const dir = dirname(writeTaskFile("tasks:\n  a: { cmd: echo a }\n"));
    const fifo = join(dir, "fifo.yaml");
    expect(spawnSync("mkfifo", [fifo]).status).toBe(0);
    const huge = join(dir, "huge.yaml");
    writeFileSync(huge, `tasks:\n${"  # padding\n".repeat(30_000)}`);
    for (const [file, why] of [
      [fifo, "is not a regular file"],
      ["/dev/zero", "is not a regular file"],
      [dir, "is not a regular file"],
      [huge, "is 360007 bytes, more than a task file may be (256 KiB)"],
    ] as const) {
      const refused = await failure(d.client(TaskService).listTasks({ taskFile: file }));
      expect([refused.code, refused.reason, refused.message]).toEqual([Code.InvalidArgument, ErrorReason.TASK_FILE_INVALID, `task file ${file} ${why}: name a tether.yaml with --file`]);
    }
    expect((await d.client(TaskService).listTasks({ taskFile: join(dir, "tether.yaml") })).tasks).toHaveLength(1);
  });

  it("refuses an unknown task, a missing required input and an ill-typed one, naming them", async () => {
    const d = await daemon();
    const client = d.client(SessionService);
    const file = writeTaskFile(`tasks:\n  deploy:\n    cmd: echo {{ inputs.env }} {{ inputs.count }}\n    inputs:\n      env: { type: choice, choices: [dev, prod] }\n      count: { type: int, default: "1" }\n`);
    const unknown = await client.startSession({ task: "nope", taskFile: file }).catch((e: unknown) => e);
    expect(reasonOf(unknown)).toBe(ErrorReason.TASK_NOT_FOUND);
    expect(ConnectError.from(unknown).rawMessage).toContain("deploy");
    const missing = await client.startSession({ task: "deploy", taskFile: file }).catch((e: unknown) => e);
    expect(reasonOf(missing)).toBe(ErrorReason.INPUT_INVALID);
    expect(ConnectError.from(missing).rawMessage).toContain("--input env=VALUE");
    const typed = await client.startSession({ task: "deploy", taskFile: file, inputs: { env: "dev", count: "many" } }).catch((e: unknown) => e);
    expect(ConnectError.from(typed).rawMessage).toContain('"many" is not an int: write a whole number in decimal, as 3 or -12');
    for (const [count, why] of [["0x10", "not an int"], ["1.5", "not an int"]] as const) {
      const refused = await client.startSession({ task: "deploy", taskFile: file, inputs: { env: "dev", count } }).catch((e: unknown) => e);
      expect(ConnectError.from(refused).rawMessage).toContain(`"${count}" is ${why}`);
    }
    expect((await client.listSessions({})).sessions).toHaveLength(0);
  });

  it("a bool input reaches the run as true or false however it was given; an int or float without blanks", async () => {
    const d = await daemon();
    const client = d.client(SessionService);
    const file = writeTaskFile(
      `tasks:\n  flags:\n    cmd: echo "[{{ inputs.on }}][{{ inputs.off }}][{{ inputs.n }}][{{ inputs.x }}][$TETHER_INPUT_ON]"\n    inputs:\n      on: { type: bool }\n      off: { type: bool, default: "no" }\n      n: { type: int }\n      x: { type: float }\n`,
    );
    const { session } = await client.startSession({ task: "flags", taskFile: file, inputs: { on: "YES", n: " 42 ", x: "1.5 " } });
    await waitQuiet(client, session!.id);
    expect((await logText(client, session!.id)).stdout).toBe("[true][false][42][1.5][true]\n");
    expect(session!.inputs).toEqual({ on: "true", off: "false", n: "42", x: "1.5" });
    for (const x of ["0x10", "0b11", "Infinity", "1e999", "", "1.5.2"]) {
      const refused = await client.startSession({ task: "flags", taskFile: file, inputs: { on: "no", n: "1", x } }).catch((e: unknown) => e);
      expect(ConnectError.from(refused).rawMessage).toContain(`input x: ${JSON.stringify(x)} is not a float: write it in decimal`);
    }
    for (const x of ["-2", "+.5", "6.02e23", "7."]) {
      const { session: taken } = await client.startSession({ task: "flags", taskFile: file, inputs: { on: "no", n: "1", x } });
      expect(taken!.inputs.x).toBe(x);
    }
  });

  it("an input put in a command with | quote stays one word, whatever it holds; without, it is shell text", async () => {
    const d = await daemon();
    const client = d.client(SessionService);
    const file = writeTaskFile(
      `tasks:\n  greet:\n    cmd: printf '[%s]' {{ inputs.name | quote }} {{ inputs.title | quote }}; printf '<%s>' {{ inputs.name }}\n    inputs:\n      name: { type: string }\n      title: { type: string }\n`,
    );
    const { session } = await client.startSession({ task: "greet", taskFile: file, inputs: { name: "x; echo RAN", title: "it's $(echo not run)" } });
    await waitQuiet(client, session!.id);
    expect((await logText(client, session!.id)).stdout).toBe("[x; echo RAN][it's $(echo not run)]<x>RAN\n");
    // An input named after an Object method is an input like any other.
    const odd = writeTaskFile(`tasks:\n  odd:\n    cmd: echo "[{{ inputs.constructor }}]"\n    inputs:\n      constructor: { type: string, default: dflt }\n`);
    const { session: oddSession } = await client.startSession({ task: "odd", taskFile: odd });
    await waitQuiet(client, oddSession!.id);
    expect((await logText(client, oddSession!.id)).stdout).toBe("[dflt]\n");
  });

  it("never stores or shows a secret input, while the run still gets it", async () => {
    const d = await daemon();
    const client = d.client(SessionService);
    const file = writeTaskFile(`tasks:\n  use:\n    cmd: test "$TETHER_INPUT_TOKEN" = "$(echo hunterX | tr X 2)" && test "{{ inputs.token }}" = "$TETHER_INPUT_TOKEN" && echo ok\n    inputs:\n      token: { type: secret }\n`);
    const { session } = await client.startSession({ task: "use", taskFile: file, inputs: { token: "hunter2" } });
    const done = await waitQuiet(client, session!.id);
    expect(done.exitCode).toBe(0);
    expect(done.inputs["token"]).toBe("<secret>");
    const { runs } = await client.listRuns({ parent: done.name });
    expect(runs[0]!.command).not.toContain("hunter2");
    await d.stop();
    const db = readFileSync(join(d.home, "tether.db"));
    expect(db.includes("hunter2")).toBe(false);
    await d.restart();
  });

  it("a command that cannot start, its program named by a secret input, is said with the value starred: in the log, the state log and the store", async () => {
    const d = await daemon();
    const client = d.client(SessionService);
    const file = writeTaskFile(`tasks:\n  use:\n    cmd: ["/opt/{{ inputs.token }}/run"]\n    inputs:\n      token: { type: secret }\n`);
    const { session } = await client.startSession({ task: "use", taskFile: file, inputs: { token: "hunter2" } });
    const done = await waitQuiet(client, session!.id);
    expect(done.exitCode).toBe(127);
    expect((await logText(client, done.id)).stderr).toBe("tether: cannot start /opt/*******/run: spawn /opt/*******/run ENOENT: no such file\n");
    const { runs } = await client.listRuns({ parent: done.name });
    expect(runs[0]!.transitions.at(-1)!.reason).toBe("could not start: cannot start /opt/*******/run: spawn /opt/*******/run ENOENT: no such file");
    await d.stop();
    expect(readFileSync(join(d.home, "tether.db")).includes("hunter2")).toBe(false);
    const output = join(d.home, "output");
    for (const f of readdirSync(output, { recursive: true, withFileTypes: true }).filter((f) => f.isFile())) expect(readFileSync(join(f.parentPath, f.name)).includes("hunter2")).toBe(false);
    await d.restart();
  });

  it("masks a secret input's value in its runs' output, byte for byte, also when a run writes it in two pieces; a value's beginning that no rest follows shows", async () => {
    const d = await daemon();
    const client = d.client(SessionService);
    const file = writeTaskFile(`tasks:
  leak:
    cmd: |
      echo "template {{ inputs.token }}"
      echo "env $TETHER_INPUT_TOKEN" >&2
      printf 'cut hunt'; sleep 0.2; printf 'er2 done\\n'
      printf 'prompt hu' >&2; sleep 1; printf ' over\\n' >&2
    inputs:
      token: { type: secret }
`);
    const { session } = await client.startSession({ task: "leak", taskFile: file, inputs: { token: "hunter2" } });
    const done = await waitQuiet(client, session!.id);
    expect(done.exitCode).toBe(0);
    const { stdout, stderr } = await logText(client, done.id);
    // The value's two pieces came in two reads: the first was held back until the second came.
    expect(stdout).toBe("template *******\ncut ******* done\n");
    // "hu" was held back SECRET_HOLD_MS, then let out: nothing came after it for that long.
    expect(stderr).toBe("env *******\nprompt hu over\n");
    const chunks: string[] = [];
    for await (const msg of client.readSessionLogs({ name: `sessions/${done.id}` })) for (const c of msg.chunks) if (c.stream === LogStream.STDERR) chunks.push(Buffer.from(c.data).toString());
    expect(chunks.slice(-2)).toEqual(["hu", " over\n"]);
    await d.stop();
    expect(readFileSync(join(d.home, "tether.db")).includes("hunter2")).toBe(false);
    const output = join(d.home, "output");
    const files = readdirSync(output, { recursive: true, withFileTypes: true }).filter((f) => f.isFile());
    for (const f of files) expect(readFileSync(join(f.parentPath, f.name)).includes("hunter2")).toBe(false);
    await d.restart();
  });
});
