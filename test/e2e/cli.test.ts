import { execFileSync, spawn, spawnSync } from "node:child_process";
import { chmodSync, closeSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { connect as h2connect } from "node:http2";
import { connect } from "node:net";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { CLI_ENTRY, cliEnvPerTest, ROOT, waitForSocket } from "../helpers/daemon.js";
import { DAEMON_PATIENCE_MS } from "../../client/daemon-patience.js";
import { CAN_FILL_A_DISK } from "../helpers/full-disk.js";
import { eventually, writeTaskFile } from "../helpers/sessions.js";

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

const freshEnv = cliEnvPerTest();

function cli(env: NodeJS.ProcessEnv, ...args: string[]): Run {
  const r = spawnSync(process.execPath, [CLI_ENTRY, ...args], { env, encoding: "utf8", timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `cli`, without blocking the test's loop (the daemon it starts may wait on one the test holds). */
function cliAsync(env: NodeJS.ProcessEnv, ...args: string[]): Promise<Run> {
  const child = spawn(process.execPath, [CLI_ENTRY, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.once("close", (status) => resolve({ status, stdout, stderr })));
}

describe("tether daemon (the built CLI)", () => {
  it("a daemon of the client's release but another build (tether rebuilt since it started) serves with a warning naming the fix; status says so; the same build, or a restart, none", () => {
    const env = freshEnv();
    mkdirSync(join(ROOT, ".tmp"), { recursive: true });
    // A copy of the built package inside the repository (its node_modules found above it), to rebuild without touching dist/.
    const copy = mkdtempSync(join(ROOT, ".tmp", "build-"));
    try {
      cpSync(join(ROOT, "dist"), join(copy, "dist"), { recursive: true });
      copyFileSync(join(ROOT, "package.json"), join(copy, "package.json"));
      const copied = (...args: string[]): Run => {
        const r = spawnSync(process.execPath, [join(copy, "dist", "tether.cjs"), ...args], { env, encoding: "utf8", timeout: 30_000 });
        return { status: r.status, stdout: r.stdout, stderr: r.stderr };
      };
      const built = readFileSync(join(ROOT, "dist", "build-id"), "utf8").trim();
      expect(built).toMatch(/^[0-9a-f]{16}$/);
      expect(copied("daemon", "start").status).toBe(0);
      expect(copied("ls")).toMatchObject({ status: 0, stderr: "" });
      expect(JSON.parse(copied("daemon", "status", "--json").stdout)).toMatchObject({ build_id: built, client_build_id: built });
      // The copy rebuilt with changes: its CLI is another build than the daemon it started.
      writeFileSync(join(copy, "dist", "build-id"), "0123456789abcdef\n");
      const other = copied("ls");
      expect(other.status).toBe(0);
      expect(other.stderr).toMatch(/^tether: warning: the daemon \(pid \d+\) runs another build of tether \S+ than this client's \(tether was rebuilt since it started\): .*; tether daemon restart runs this build \(it stops live work\)\n$/);
      expect(copied("daemon", "status").stdout).toContain(`  build:      ${built} (another build of tether`);
      expect(copied("daemon", "restart").status).toBe(0);
      expect(copied("ls")).toMatchObject({ status: 0, stderr: "" });
      expect(JSON.parse(copied("daemon", "status", "--json").stdout)).toMatchObject({ build_id: "0123456789abcdef", client_build_id: "0123456789abcdef" });
    } finally {
      spawnSync(process.execPath, [join(copy, "dist", "tether.cjs"), "daemon", "stop"], { env, encoding: "utf8" });
      rmSync(copy, { recursive: true, force: true });
    }
  });

  it("status says no daemon runs, with a hint, and exits 1", () => {
    const env = freshEnv();
    const r = cli(env, "daemon", "status");
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain("no daemon is running");
    expect(r.stderr).toContain("tether daemon start");
  });

  it("start returns once the daemon answers; status shows pid, version, uptime, socket, state dir, what it serves, its memory and its live work; stop ends it, saying what it ended", () => {
    const env = freshEnv();
    const start = cli(env, "daemon", "start");
    expect(start.status).toBe(0);
    expect(start.stdout).toMatch(/tether daemon started \(pid \d+\)/);
    const status = cli(env, "daemon", "status");
    expect(status.status).toBe(0);
    for (const field of ["pid:", "version:", "uptime:", `socket:     ${env.TETHER_SOCKET}`, `state dir:  ${env.TETHER_HOME}`]) {
      expect(status.stdout).toContain(field);
    }
    // Nothing else talks to this daemon: the status call is the one call in progress (the start's connection may still be closing).
    expect(status.stdout).toMatch(/serving: +\d+ connection\(s\), 1 call\(s\) in progress \(this one included\)/);
    expect(status.stdout).toMatch(/memory: +\d+ MiB resident/);
    expect(status.stdout).toMatch(/work: +0 open session\(s\); nothing live\n/);
    const json = JSON.parse(cli(env, "daemon", "status", "--json").stdout);
    expect(json.running).toBe(true);
    expect(json.socket).toBe(env.TETHER_SOCKET);
    expect(json.calls_in_progress).toBe(1);
    expect(json.connections).toBeGreaterThanOrEqual(1);
    expect(json.memory_bytes).toBeGreaterThan(10 * 1024 * 1024);
    expect(cli(env, "daemon", "start").stdout).toContain("already running");
    // Live work shows, and a stop says what it ended.
    expect(cli(env, "ws", "create", "w").status).toBe(0);
    expect(cli(env, "exec", "w", "-d", "--", "sleep", "60").status).toBe(0);
    const taskDir = mkdtempSync(join(tmpdir(), "tether-cli-work-"));
    writeFileSync(join(taskDir, "tether.yaml"), "tasks:\n  hold: { cmd: sleep 60 }\n");
    expect(cli(env, "run", "-d", "hold", "--file", join(taskDir, "tether.yaml")).status).toBe(0);
    const busy = JSON.parse(cli(env, "daemon", "status", "--json").stdout);
    expect([busy.open_sessions, busy.live_runs, busy.live_execs, busy.live_ptys]).toEqual([1, 1, 1, 0]);
    expect(cli(env, "daemon", "status").stdout).toMatch(/work: +1 open session\(s\); 1 session run\(s\), 1 exec\(s\) live \(tether daemon stop ends them\)\n/);
    const stop = cli(env, "daemon", "stop");
    expect(stop.status).toBe(0);
    expect(stop.stdout).toMatch(/^tether daemon stopped \(pid \d+\); it ended 1 session run\(s\), 1 exec\(s\) \(recorded lost\)\n$/);
    rmSync(taskDir, { recursive: true, force: true });
    expect(existsSync(env.TETHER_SOCKET as string)).toBe(false);
    expect(cli(env, "daemon", "status").status).toBe(1);
  });

  it("stop names the open sessions it leaves open, and the next daemon goes on with them; a session whose run it cut closes", async () => {
    const env = freshEnv();
    const taskDir = mkdtempSync(join(tmpdir(), "tether-cli-kept-"));
    const file = join(taskDir, "tether.yaml");
    writeFileSync(file, "tasks:\n  hold: { cmd: sleep 60 }\n  chat: { cmd: 'true', keep_open: true }\n  later: { cmd: exit 1, retries: 1, retry_delay: 60s }\n");
    const ids = Object.fromEntries(["chat", "later", "hold"].map((task) => [task, cli(env, "run", "-d", task, "--file", file).stdout.trim()]));
    const sessions = (): { id: string; status: string; activity: string }[] => JSON.parse(cli(env, "ls", "--json").stdout);
    await eventually(() => {
      const now = Object.fromEntries(sessions().map((s) => [s.id, `${s.status}/${s.activity}`]));
      return now[ids.chat!] === "open/idle" && now[ids.later!] === "open/waiting" && now[ids.hold!] === "open/running" ? true : undefined;
    });
    const stop = cli(env, "daemon", "stop");
    expect(stop.stdout.split("\n")[1]).toBe(`2 open session(s) stay open, and the next daemon goes on with them (any tether command starts it): ${ids.chat}, ${ids.later}`);
    const after = Object.fromEntries(sessions().map((s) => [s.id, s.status]));
    expect(after).toEqual({ [ids.chat!]: "open", [ids.later!]: "open", [ids.hold!]: "closed" });
    cli(env, "daemon", "stop");
    rmSync(taskDir, { recursive: true, force: true });
  });

  it("a daemon whose socket file was removed serves it again when the next command comes, and keeps its work", () => {
    const env = freshEnv();
    expect(cli(env, "daemon", "start").status).toBe(0);
    const pid = JSON.parse(cli(env, "daemon", "status", "--json").stdout).pid;
    expect(cli(env, "ws", "create", "kept").status).toBe(0);
    rmSync(env.TETHER_SOCKET as string);
    expect(cli(env, "daemon", "status").status).toBe(1);
    // A command that starts a daemon when none answers: the new one finds the lock taken, asks its holder, and goes.
    const listed = cli(env, "ws", "ls");
    expect(listed.status).toBe(0);
    expect(listed.stdout).toContain("kept");
    expect(JSON.parse(cli(env, "daemon", "status", "--json").stdout).pid).toBe(pid);
    expect(readFileSync(join(env.TETHER_HOME as string, "daemon.log"), "utf8")).toContain("was removed: serving it again");
    expect(cli(env, "daemon", "stop").status).toBe(0);
  });

  /**
   * A daemon held by SIGSTOP, its socket file removed, stands for one that has
   * the lock and does not serve yet; `tether ws ls` runs beside it for `ms`.
   */
  async function listingBesideHeldDaemon(ms: number): Promise<{ env: NodeJS.ProcessEnv; pid: number; listing: Promise<Run> }> {
    const env = freshEnv();
    expect(cli(env, "daemon", "start").status).toBe(0);
    const pid = JSON.parse(cli(env, "daemon", "status", "--json").stdout).pid as number;
    process.kill(pid, "SIGSTOP");
    rmSync(env.TETHER_SOCKET as string);
    const listing = cliAsync(env, "ws", "ls");
    await new Promise((r) => setTimeout(r, ms));
    return { env, pid, listing };
  }

  it("a command that starts a daemon while another holds the lock without serving waits for that one, and goes on with it", async () => {
    const { env, pid, listing } = await listingBesideHeldDaemon(2_000);
    process.kill(pid, "SIGCONT");
    expect(await listing).toMatchObject({ status: 0, stderr: "" });
    expect(JSON.parse(cli(env, "daemon", "status", "--json").stdout).pid).toBe(pid);
    expect(cli(env, "daemon", "stop").status).toBe(0);
  });

  it("a daemon that dies while a new one waits on its lock leaves the lock to the new one, and the command goes on with it", async () => {
    const { env, pid, listing } = await listingBesideHeldDaemon(1_500);
    process.kill(pid, "SIGKILL");
    expect(await listing).toMatchObject({ status: 0, stderr: "" });
    expect(JSON.parse(cli(env, "daemon", "status", "--json").stdout).pid).not.toBe(pid);
    expect(cli(env, "daemon", "stop").status).toBe(0);
  });

  it("daemon stop waits until the daemon has exited; a daemon started while the old one still ends a call under way takes over once it has", async () => {
    const env = freshEnv();
    expect(cli(env, "daemon", "start").status).toBe(0);
    const pid = JSON.parse(cli(env, "daemon", "status", "--json").stdout).pid as number;
    // A call whose request never ends: the stopping daemon waits for it (up to 5 s) after it stops answering, the lock still its own.
    const session = h2connect("http://localhost", { createConnection: () => connect(env.TETHER_SOCKET as string) });
    session.on("error", () => {});
    const call = session.request({ ":method": "POST", ":path": "/tether.v1.DaemonService/GetDaemonInfo", "content-type": "application/grpc", te: "trailers" });
    call.on("error", () => {});
    await new Promise((resolve) => call.once("ready", resolve));
    const stopping = cliAsync(env, "daemon", "stop");
    await eventually(() => (cli(env, "daemon", "status").status === 1 ? true : undefined));
    const started = await cliAsync(env, "daemon", "start");
    expect(started).toMatchObject({ status: 0, stderr: "" });
    const stopped = await stopping;
    expect(stopped.stdout).toContain(`tether daemon stopped (pid ${pid})`);
    // Gone, or a zombie its new parent has yet to reap.
    expect(existsSync(`/proc/${pid}`) ? readFileSync(`/proc/${pid}/stat`, "latin1").split(") ").at(-1)![0] : "gone").toMatch(/^(gone|Z)$/);
    expect(JSON.parse(cli(env, "daemon", "status", "--json").stdout).pid).not.toBe(pid);
    session.destroy();
    expect(cli(env, "daemon", "stop").status).toBe(0);
  });

  it("the background daemon survives the CLI that started it being killed with SIGKILL", async () => {
    const env = freshEnv();
    const child = spawn(process.execPath, [CLI_ENTRY, "daemon", "start"], { env, stdio: "ignore" });
    const deadline = Date.now() + 20_000;
    while (!existsSync(env.TETHER_SOCKET as string) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    child.kill("SIGKILL");
    await new Promise((r) => setTimeout(r, 300));
    expect(cli(env, "daemon", "status").status).toBe(0);
  });

  it("a daemon started by a command holds none of the descriptors that command inherited: a pipe the caller waits on ends with the command, and the log says what was closed", async () => {
    const env = freshEnv();
    // The command gets a pipe's write end as descriptor 200, as a CI runner or a shell can leave one (Node marks the
    // first 16 it inherits close-on-exec, uv_disable_stdio_inheritance, and no higher one).
    const stdio: ("ignore" | "pipe")[] = Array.from({ length: 201 }, (_, fd) => (fd === 1 || fd === 2 || fd === 200 ? "pipe" : "ignore"));
    const child = spawn(process.execPath, [CLI_ENTRY, "ws", "ls"], { env, stdio });
    const extra = (child.stdio as unknown as NodeJS.ReadableStream[])[200]!;
    extra.resume();
    const ended = new Promise<boolean>((resolve) => {
      extra.once("end", () => resolve(true));
      extra.once("close", () => resolve(true));
      setTimeout(() => resolve(false), 10_000);
    });
    expect(await new Promise<number | null>((resolve) => child.once("exit", resolve))).toBe(0);
    // The daemon (still running) does not hold the write end: the reader sees its end.
    expect(await ended).toBe(true);
    // This one, and any the test runner left to the command.
    expect(readFileSync(join(env.TETHER_HOME!, "daemon.log"), "utf8")).toMatch(/closed [1-9]\d* descriptor\(s\) inherited from the command that started the daemon/);
  });

  it("a command whose daemon does not answer (stopped by SIGSTOP) says so after a while, naming its pid and the command that lets it go on, then goes on once it answers", async () => {
    const env = freshEnv();
    expect(cli(env, "daemon", "start").status).toBe(0);
    const { pid } = JSON.parse(cli(env, "daemon", "status", "--json").stdout) as { pid: number };
    process.kill(pid, "SIGSTOP");
    // A command, and daemon status, which a user tries next.
    const waiting = [cliAsync(env, "ws", "ls"), cliAsync(env, "daemon", "status")];
    try {
      await new Promise((r) => setTimeout(r, DAEMON_PATIENCE_MS + 1_000));
    } finally {
      process.kill(pid, "SIGCONT");
    }
    const [listing, status] = await Promise.all(waiting);
    for (const done of [listing!, status!]) {
      expect(done.status).toBe(0);
      expect(done.stderr).toBe(`tether: the daemon on ${env.TETHER_SOCKET} has not answered in 5s: its process (pid ${pid}) is stopped; kill -CONT ${pid} lets it go on; still waiting (Ctrl-C gives up)\n`);
    }
    expect(listing!.stdout).toMatch(/^WORKSPACE/);
    expect(status!.stdout).toMatch(/^tether daemon running/);
  });

  it("a command following a call when the daemon is killed says it lost the daemon, and how to check", async () => {
    const env = freshEnv();
    const started = cli(env, "journal", "append", "j", "first");
    expect(started.status).toBe(0);
    const { pid } = JSON.parse(cli(env, "daemon", "status", "--json").stdout) as { pid: number };
    const follower = spawn(process.execPath, [CLI_ENTRY, "journal", "read", "j", "-f"], { env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    follower.stdout.setEncoding("utf8").on("data", (t: string) => (out += t));
    follower.stderr.setEncoding("utf8").on("data", (t: string) => (err += t));
    const deadline = Date.now() + 20_000;
    while (!out.includes("first") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    process.kill(pid, "SIGKILL");
    const code = await new Promise<number | null>((resolve) => follower.on("close", resolve));
    // Without its status, or reset (ECONNRESET), as the kernel closes the socket.
    expect(code).toBe(1);
    expect(err).toMatch(/^tether: lost the connection to the daemon on \S+ \((the call ended without its status|ECONNRESET)\): check it with tether daemon status\n$/);
  });

  it("inside a session's run, a command whose daemon is gone says so and starts no daemon (one would only record the run lost)", () => {
    const env: NodeJS.ProcessEnv = { ...freshEnv(), TETHER_SESSION: "s-gone1", TETHER_RUN: "3" };
    const r = cli(env, "output", "events", "x");
    expect([r.status, r.stderr]).toEqual([1, `tether: the daemon that runs this task (session s-gone1, run 3) is not answering on ${env.TETHER_SOCKET}: it has stopped, and this run with it\n`]);
    expect(existsSync(env.TETHER_SOCKET as string)).toBe(false);
  });

  it("start that fails prints the end of the daemon log with the reason", () => {
    const env = freshEnv();
    chmodSync(dirname(env.TETHER_SOCKET as string), 0o755);
    const r = cli(env, "daemon", "start");
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("the daemon did not start");
    expect(r.stderr).toContain(`chmod 700 ${dirname(env.TETHER_SOCKET as string)}`);
  });

  it("daemon logs shows what a background daemon logged (-n: its last lines; -f: then what it logs next) without starting one; daemon start rotates a log grown past 8 MiB", async () => {
    const env = freshEnv();
    const home = env.TETHER_HOME as string;
    const none = cli(env, "daemon", "logs");
    expect([none.status, none.stderr]).toEqual([1, `tether: no daemon log at ${join(home, "daemon.log")}: a daemon started in the background (tether daemon start, or by any command) logs there; tether daemon run logs to its own stderr (under systemd: journalctl --user -u UNIT)\n`]);
    expect(existsSync(env.TETHER_SOCKET as string)).toBe(false);
    // A log grown past 8 MiB by earlier daemons: the next start moves it aside, and starts one anew.
    mkdirSync(home, { recursive: true, mode: 0o700 });
    writeFileSync(join(home, "daemon.log"), `${"old line\n".repeat(1024 * 1024)}`, { mode: 0o600 });
    expect(cli(env, "daemon", "start").status).toBe(0);
    expect(readFileSync(join(home, "daemon.log.1"), "utf8").length).toBe(9 * 1024 * 1024);
    const all = cli(env, "daemon", "logs");
    expect(all.status).toBe(0);
    expect(all.stdout).toMatch(/^\S+Z tether \S+ \(pid \d+\) serving /m);
    expect(all.stdout).not.toContain("old line");
    const last = cli(env, "daemon", "logs", "-n", "1");
    expect(last.stdout).toBe(`${all.stdout.trimEnd().split("\n").at(-1)}\n`);
    // -f: what the daemon logs next (its stop), until Ctrl-C.
    const follower = spawn(process.execPath, [CLI_ENTRY, "daemon", "logs", "-f", "-n", "0"], { env, stdio: ["ignore", "pipe", "pipe"] });
    let followed = "";
    follower.stdout.on("data", (chunk: Buffer) => (followed += chunk.toString()));
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(cli(env, "daemon", "stop").status).toBe(0);
    await eventually(() => (followed.includes(" stopped\n") ? true : undefined));
    expect(followed).toMatch(/^\S+Z stopping \(ShutdownDaemon\)\n/);
    follower.kill("SIGINT");
    expect(cli(env, "daemon", "logs", "-n", "x")).toMatchObject({ status: 2 });
  });

  it("a relative TETHER_SOCKET or TETHER_HOME is refused at once, CLI and daemon alike, saying how to fix it", () => {
    const env = freshEnv();
    for (const [name, value] of [["TETHER_SOCKET", "rel.sock"], ["TETHER_HOME", "relhome"]] as const) {
      const bad = { ...env, [name]: value };
      const r = spawnSync(process.execPath, [CLI_ENTRY, "ls"], { env: bad, cwd: dirname(env.TETHER_SOCKET as string), encoding: "utf8", timeout: 30_000 });
      expect([r.status, r.stderr]).toEqual([2, `tether: ${name} must be an absolute path (it is "${value}"): a relative one names another place from every directory; set it to "$PWD/${value}" or another absolute path\n`]);
      const daemon = spawnSync(process.execPath, [CLI_ENTRY, "daemon", "run"], { env: bad, encoding: "utf8", timeout: 30_000 });
      expect(daemon.status).not.toBe(0);
      expect(daemon.stderr).toContain(`${name} must be an absolute path`);
    }
    expect(existsSync(join(dirname(env.TETHER_SOCKET as string), "rel.sock"))).toBe(false);
    expect(cli(env, "daemon", "status").status).toBe(1);
  });

  it("in a directory removed while the shell was in it, a command needing it says so; absolute paths work", () => {
    const env = freshEnv();
    const project = mkdtempSync(join(tmpdir(), "tether-project-"));
    writeFileSync(join(project, "tether.yaml"), "tasks:\n  hi:\n    cmd: echo hi from $PWD\n");
    const gone = join(project, "gone");
    // The shell goes into the directory and removes it, then runs the CLI there (as a user's shell would, still in it).
    const inRemoved = (...args: string[]): Run => {
      const r = spawnSync("sh", ["-c", 'cd "$0" && rmdir "$0" && exec "$@"', gone, process.execPath, CLI_ENTRY, ...args], { env, encoding: "utf8", timeout: 30_000 });
      return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    };
    const removed = "tether: the current directory no longer exists (removed while this shell was in it): cd to another one, or give absolute paths (--file, --path)\n";
    for (const args of [["run", "hi"], ["tasks"], ["run", "hi", "--file", "tether.yaml"], ["ws", "create", "here", "--path", "."]]) {
      mkdirSync(gone);
      const refused = inRemoved(...args);
      expect([refused.status, refused.stderr], args.join(" ")).toEqual([1, removed]);
    }
    mkdirSync(gone);
    const absolute = inRemoved("run", "hi", "--file", join(project, "tether.yaml"));
    expect([absolute.status, absolute.stdout.replace(/ +\| /, " | ")]).toEqual([0, `hi | hi from ${project}\n`]);
  });

  it("in a directory whose path is not UTF-8, a command needing it says so rather than that nothing is there", () => {
    const env = freshEnv();
    const project = mkdtempSync(join(tmpdir(), "tether-project-"));
    // A Latin-1 name: Node reads the bytes 0xE9 as U+FFFD, a path that names nothing.
    const latin1 = Buffer.concat([Buffer.from(join(project, "caf")), Buffer.from([0xe9])]);
    mkdirSync(latin1);
    writeFileSync(Buffer.concat([latin1, Buffer.from("/tether.yaml")]), "tasks:\n  hi:\n    cmd: echo hi\n");
    const inLatin1 = (...args: string[]): Run => {
      const r = spawnSync("sh", ["-c", `cd "$(printf '%s\\351' "$0")" && exec "$@"`, join(project, "caf"), process.execPath, CLI_ENTRY, ...args], { env, encoding: "utf8", timeout: 30_000 });
      return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    };
    const shown = `${project}/caf\uFFFD`;
    for (const args of [["run", "hi"], ["tasks"], ["ws", "create", "here", "--path", "."]]) {
      const refused = inLatin1(...args);
      expect([refused.status, refused.stderr], args.join(" ")).toEqual([
        1,
        `tether: the current directory's path is not UTF-8 (${shown}, with U+FFFD for the bytes that are not): tether passes paths as UTF-8 text; cd to a directory whose path is, or give absolute paths (--file, --path)\n`,
      ]);
    }
    // Named on the command line, from a directory that is UTF-8: the path's bytes came through argv.
    const named = spawnSync("sh", ["-c", `exec "$0" "$1" ws create here --path "$(printf '%s\\351' "$2")"`, process.execPath, CLI_ENTRY, join(project, "caf")], { env, encoding: "utf8", timeout: 30_000 });
    expect([named.status, named.stderr]).toEqual([1, `tether: the path ${shown} is not UTF-8 (U+FFFD stands for the bytes that are not): tether passes paths as UTF-8 text; rename it, or use a path that is\n`]);
  });

  it("daemon run stays in the foreground and stops on SIGTERM", async () => {
    const env = freshEnv();
    const child = spawn(process.execPath, [CLI_ENTRY, "daemon", "run"], { env, stdio: ["ignore", "pipe", "pipe"] });
    let log = "";
    child.stderr.on("data", (d: Buffer) => (log += d.toString()));
    const deadline = Date.now() + 20_000;
    while (!log.includes("serving") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    // The daemon runs in a child of `daemon run`, a node started with the daemon's flags.
    const pid = Number(/pid:\s+(\d+)/.exec(cli(env, "daemon", "status").stdout)?.[1]);
    expect(readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")[1]).toBe(String(child.pid));
    expect(readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")).toContain("--max-semi-space-size=4");
    child.kill("SIGTERM");
    // "close", not "exit": the exit can come before the last of its stderr has been read.
    const code = await new Promise((resolve) => child.once("close", resolve));
    expect(code).toBe(0);
    expect(log).toContain("stopped");
    expect(cli(env, "daemon", "status").status).toBe(1);
  });

  it("unknown commands and flags are refused with exit 2 and where to look", () => {
    const env = freshEnv();
    const r = cli(env, "frobnicate");
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("tether --help");
    expect(cli(env, "--help").stdout).toContain("tether daemon run");
    // A flag the command does not take, or one missing its value: exit 2, and where its usage is.
    for (const args of [["ls", "--frobnicate"], ["ls", "--status"]]) {
      const refused = cli(env, ...args);
      expect([refused.status, refused.stderr]).toEqual([2, expect.stringMatching(/^tether: .*\n\(tether ls --help shows its usage\)\n$/)]);
    }
    // An option misspelt, or spelt as another tool spells it: tether's named.
    const meant: Array<[string[], string]> = [
      [["logs", "s-1", "--folow"], "--folow: did you mean --follow?"],
      [["ls", "--hlep"], "--hlep: did you mean --help?"],
      [["exec", "box", "-w", "/srv", "--", "pwd"], "-w: did you mean --cwd?"],
      [["exec", "box", "--workdir=/srv", "pwd"], "--workdir: did you mean --cwd?"],
      [["run", "build", "--concurrency", "4"], "--concurrency: did you mean --parallel?"],
      [["logs", "s-1", "--lines", "20"], "--lines: did you mean --tail?"],
      [["ls", "--frobnicate"], "--frobnicate"],
    ];
    for (const [args, said] of meant) {
      const refused = cli(env, ...args);
      expect([refused.status, refused.stderr]).toEqual([2, `tether: unknown option ${said}\n(tether ${args[0]} --help shows its usage)\n`]);
    }
    // A slip in one subcommand shows that subcommand's usage, not its group's.
    const resize = cli(env, "pty", "resize", "p-x", "wide");
    expect(resize.status).toBe(2);
    expect(resize.stderr).toMatch(/^tether: usage:\n {2}tether pty resize P COLSxROWS {2}/);
    expect(resize.stderr).not.toContain("tether pty attach");
    // A slip of a letter or two: the command meant is named.
    expect([cli(env, "lss").status, cli(env, "lss").stderr]).toEqual([2, 'tether: unknown command "lss": did you mean tether ls? tether --help lists the commands\n']);
    const ws = cli(env, "ws", "shwo");
    expect([ws.status, ws.stderr.split("\n")[0]]).toEqual([2, 'tether: no tether ws command "shwo": did you mean tether ws show?']);
    // Outside a run too, where xcom has no session yet: the slip first.
    const xcom = cli({ ...env, TETHER_SESSION: "" }, "xcom", "ls", "s-1");
    expect([xcom.status, xcom.stderr.split("\n")[0], xcom.stderr.trimEnd().split("\n").at(-1)]).toEqual([2, 'tether: no tether xcom command "ls"', "(tether show S lists a session's values)"]);
    expect(ws.stderr).toContain("tether ws create NAME");
    // Where a workspace could stand first, a name no workspace has that is close to a subcommand.
    const exec = cli(env, "exec", "attch", "e-1");
    expect([exec.status, exec.stderr]).toEqual([1, 'tether: no workspace "attch": tether ws ls lists them, tether ws create makes one; or did you mean tether exec attach?\n']);
    // Another tool's word for a command (docker's, pueue's, tmux's): the one it is here.
    const otherWords: [string[], string][] = [
      [["ps"], 'tether: unknown command "ps": did you mean tether ls? tether --help lists the commands'],
      [["follow", "s-1"], 'tether: unknown command "follow": did you mean tether logs -f? tether --help lists the commands'],
      [["exec", "ps"], 'tether: no tether exec command "ps": did you mean tether exec ls?'],
      [["exec", "logs", "e-1"], 'tether: no workspace "logs": tether ws ls lists them, tether ws create makes one; or did you mean tether exec attach?'],
      [["ws", "list"], 'tether: no tether ws command "list": did you mean tether ws ls?'],
      [["pty", "send-keys", "p-1", "Enter"], 'tether: no workspace "send-keys": tether ws ls lists them, tether ws create makes one; or did you mean tether pty send -k?'],
    ];
    for (const [args, said] of otherWords) expect(cli(env, ...args).stderr.trim().split("\n")[0]).toBe(said);
  });

  // Needs a small file system of its own: a tmpfs, which only root may mount (CI runs as root).
  it.skipIf(!CAN_FILL_A_DISK)("a daemon whose state's disk is full refuses writes saying to free space, lives through log lines it cannot write, and counts them once it can", () => {
    const fs = mkdtempSync(join(tmpdir(), "tether-fullfs-"));
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=16m,mode=0700", "tmpfs", fs]);
    const env = { ...freshEnv(), TETHER_HOME: join(fs, "home") };
    try {
      expect(cli(env, "ws", "create", "w").status).toBe(0);
      // The disk full, daemon.log to its last byte too (a file's last page has room the disk's being full leaves it).
      const fill = (path: string): void => {
        const fd = openSync(path, "a");
        try {
          for (;;) writeSync(fd, Buffer.alloc(64 * 1024, 0x2e));
        } catch {
          // ENOSPC: full.
        } finally {
          closeSync(fd);
        }
      };
      fill(join(fs, "fill"));
      fill(join(fs, "home", "daemon.log"));
      for (let i = 0; i < 3; i++) {
        const refused = cli(env, "exec", "w", "--", "true");
        expect([refused.status, refused.stderr]).toEqual([1, "tether: the state database failed the call (SQLITE_FULL: database or disk is full): free disk space where the daemon keeps its state, and retry\n"]);
      }
      expect(cli(env, "daemon", "status").status).toBe(0);
      rmSync(join(fs, "fill"));
      expect(cli(env, "daemon", "stop").status).toBe(0);
      expect(readFileSync(join(fs, "home", "daemon.log"), "utf8")).toMatch(/ \d+ log line\(s\) before this one could not be written \(ENOSPC: no space left on device, write\)\n.* stopping \(ShutdownDaemon\)\n/);
    } finally {
      spawnSync(process.execPath, [CLI_ENTRY, "daemon", "stop"], { env });
      execFileSync("umount", [fs]);
    }
  });

  it("output that cannot be written (a full disk) ends the command with exit 1 saying so, not a stack trace", () => {
    const env = freshEnv();
    const full = openSync("/dev/full", "w");
    try {
      for (const args of [["--version"], ["ls"]]) {
        const r = spawnSync(process.execPath, [CLI_ENTRY, ...args], { env, stdio: ["ignore", full, "pipe"], encoding: "utf8", timeout: 30_000 });
        expect([r.status, r.stderr], args.join(" ")).toEqual([1, "tether: cannot write the output: ENOSPC: no space left on device, write\n"]);
      }
    } finally {
      closeSync(full);
    }
  });

  it("a number a flag takes is digits within its field's range, else a usage error saying what the flag takes", () => {
    const env = freshEnv();
    for (const [args, message] of [
      [["run", "build", "--parallel", "4294967296"], '--parallel takes a number of tasks at once (0: one per CPU), got "4294967296"'],
      [["run", "build", "--parallel", "1e3"], '--parallel takes a number of tasks at once (0: one per CPU), got "1e3"'],
      [["logs", "s-1", "--run", "4294967296"], '--run takes a run number, got "4294967296"'],
      [["logs", "s-1", "--from", "18446744073709551616"], '--from takes a byte offset, got "18446744073709551616"'],
      [["logs", "s-1", "--tail", "0x10"], '--tail takes a number of lines (0: only new ones), got "0x10"'],
      [["read", "s-1", "events", "--from", " 5"], '--from takes a record sequence (1 is the first), got " 5"'],
      [["exec", "attach", "e-1", "--from", "1.5"], '--from takes a byte offset (0 is the beginning), got "1.5"'],
      [["attach", "s-1", "--from", "9007199254740993"], '--from takes a position (as printed by --json, or on detach), got "9007199254740993"'],
    ] as const) {
      const refused = cli(env, ...args);
      expect([refused.status, refused.stderr], args.join(" ")).toEqual([2, `tether: ${message}\n`]);
    }
    // Refused before any daemon was asked.
    expect(existsSync(env.TETHER_SOCKET as string)).toBe(false);
  });

  it("--help after a command prints that command's usage without starting the daemon; in a command line it runs, it is that command's", () => {
    const env = freshEnv();
    const help = cli(env, "pty", "ls", "--help");
    expect(help.status).toBe(0);
    expect(help.stdout).toContain("tether pty attach [P] [--read-only]");
    expect(help.stdout).toContain("the detach key (Ctrl-\\, ");
    expect(help.stdout).not.toContain("tether ws create");
    expect(cli(env, "send", "-h").stdout).toContain("tether send S STREAM DATA");
    // `tether help CMD`, as git and docker take it.
    const helpExec = cli(env, "help", "exec");
    expect([helpExec.status, helpExec.stdout.startsWith("  tether exec WS ")]).toEqual([0, true]);
    expect(helpExec.stdout).not.toContain("tether ws create");
    expect([cli(env, "help", "exex").status, cli(env, "help", "exex").stderr]).toEqual([2, 'tether: unknown command "exex": did you mean tether exec? tether --help lists the commands\n']);
    // A command of subcommands takes it where the subcommand goes.
    for (const [command, usage] of [["ws", "tether ws create NAME"], ["xcom", "tether xcom get KEY"], ["daemon", "tether daemon run"], ["journal", "tether journal ls"]]) {
      const asked = cli(env, command!, "--help");
      expect([asked.status, asked.stderr]).toEqual([0, ""]);
      expect(asked.stdout).toContain(usage);
    }
    expect(cli(env, "daemon", "status").status).toBe(1);
    for (const passed of [cli(env, "exec", "nowhere", "--", "ls", "-h"), cli(env, "exec", "nowhere", "ls", "--help")]) {
      expect(passed.stdout).toBe("");
      expect(passed.stderr).toContain("nowhere");
    }
  });
});

describe("listings", () => {
  it("ls, exec ls, pty ls and ws ls print their ids alone with -q, one a line, as docker ps -q, for xargs and $(...)", () => {
    const env = freshEnv();
    const ws = cli(env, "ws", "create", "w").stdout.split(" ")[0]!;
    const exec = cli(env, "exec", "w", "-d", "--", "sleep", "30").stdout.trim();
    const pty = cli(env, "pty", "w", "-d", "--", "sleep", "30").stdout.trim();
    const session = cli(env, "run", "hold", "-d", "--file", writeTaskFile("tasks:\n  hold: { cmd: 'true' }\n")).stdout.trim();
    expect(cli(env, "ls", "-q")).toMatchObject({ status: 0, stdout: `${session}\n` });
    expect(cli(env, "exec", "ls", "-q")).toMatchObject({ status: 0, stdout: `${exec}\n` });
    expect(cli(env, "pty", "ls", "--quiet")).toMatchObject({ status: 0, stdout: `${pty}\n` });
    expect(cli(env, "ws", "ls", "-q").stdout.split("\n")).toContain(ws);
    expect(cli(env, "exec", "ls", "-q", "--label", "none=here")).toMatchObject({ status: 0, stdout: "" });
    expect(cli(env, "ls", "-q", "--json")).toMatchObject({ status: 2, stderr: "tether: -q prints the ids alone and --json everything: give one of them\n" });
    cli(env, "exec", "kill", exec);
    cli(env, "pty", "kill", pty);
  });
});

describe("tether journal (any command starts the daemon)", () => {
  it("append starts the daemon when none answers, and read returns what was appended", () => {
    const env = freshEnv();
    expect(cli(env, "daemon", "status").status).toBe(1);
    const appended = cli(env, "journal", "append", "notes", "first", "second");
    expect(appended.status).toBe(0);
    expect(appended.stdout.trim()).toBe("1-2");
    expect(cli(env, "daemon", "status").status).toBe(0);
    expect(cli(env, "journal", "read", "notes").stdout).toBe("first\nsecond\n");
    const json = JSON.parse(cli(env, "journal", "ls", "--json").stdout);
    expect(json).toEqual([{ journal: "notes", records: 2, bytes: 11, first_sequence: 1, next_sequence: 3 }]);
    const missing = cli(env, "journal", "read", "nope");
    expect(missing.status).toBe(1);
    expect(missing.stderr).toBe("tether: journal nope does not exist: check the id (tether journal ls or ListJournals shows them), or append to create it\n");
  });

  it("read -f follows new records until Ctrl-C", async () => {
    const env = freshEnv();
    cli(env, "journal", "append", "live", "before");
    const reader = spawn(process.execPath, [CLI_ENTRY, "journal", "read", "live", "-f"], { env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    reader.stdout.on("data", (d: Buffer) => (out += d.toString()));
    const until = async (text: string): Promise<void> => {
      const deadline = Date.now() + 15_000;
      while (!out.includes(text) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    };
    await until("before");
    cli(env, "journal", "append", "live", "after");
    await until("after");
    reader.kill("SIGINT");
    const code = await new Promise((resolve) => reader.once("close", resolve));
    expect(out).toBe("before\nafter\n");
    expect(code).toBe(130);
  });

  it("a client of another version than the daemon is told to restart the daemon, and daemon restart puts one of its own in its place", async () => {
    const env = freshEnv();
    // A real daemon that reports another version: the same bundle beside a package.json saying 9.9.9.
    const pkg = mkdtempSync(join(tmpdir(), "tether-other-"));
    mkdirSync(join(pkg, "dist"));
    copyFileSync(join(ROOT, "dist", "daemon.mjs"), join(pkg, "dist", "daemon.mjs"));
    copyFileSync(join(ROOT, "dist", "tether.cjs"), join(pkg, "dist", "tether.cjs"));
    writeFileSync(join(pkg, "package.json"), JSON.stringify({ name: "tether", version: "9.9.9", type: "module" }));
    symlinkSync(join(ROOT, "node_modules"), join(pkg, "node_modules"));
    const other = spawn(process.execPath, [join(pkg, "dist", "daemon.mjs")], { env, stdio: "ignore" });
    try {
      await waitForSocket(env.TETHER_SOCKET as string, other);
      const r = cli(env, "journal", "ls");
      expect(r.status).toBe(1);
      expect(r.stderr).toContain("the daemon runs tether 9.9.9 but this client is");
      expect(r.stderr).toContain("restart the daemon with tether daemon restart");
      expect(cli(env, "daemon", "status").stdout).toContain("version:    9.9.9 (this client is");
      const restarted = cli(env, "daemon", "restart");
      expect(restarted.status).toBe(0);
      expect(restarted.stdout).toMatch(new RegExp(`^tether daemon stopped \\(pid ${other.pid}\\)\\ntether daemon started \\(pid \\d+\\) on `));
      expect(JSON.parse(cli(env, "daemon", "status", "--json").stdout).version).toBe(JSON.parse(cli(env, "daemon", "status", "--json").stdout).client_version);
      expect(cli(env, "journal", "ls").status).toBe(0);
    } finally {
      other.kill("SIGKILL");
    }
  });
});
