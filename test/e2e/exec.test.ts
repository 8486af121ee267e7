import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CLI_ENTRY, cliEnvPerTest, ROOT } from "../helpers/daemon.js";
import { eventually, writeTaskFile } from "../helpers/sessions.js";
import { freePorts } from "../helpers/ports.js";
import { terminalsPerTest } from "../helpers/terminals.js";

const freshEnv = cliEnvPerTest({ NO_COLOR: "1" });
const terminals = terminalsPerTest();

function cli(env: NodeJS.ProcessEnv, args: string[], input?: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI_ENTRY, ...args], { env, input, encoding: "utf8", timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("tether ws and tether exec (the built CLI)", () => {
  it("creates, lists, shows (live execs, PTYs and session runs), labels and removes workspaces; an adopted directory's files stay", async () => {
    const env = freshEnv();
    const base = join(ROOT, ".tmp");
    mkdirSync(base, { recursive: true });
    const dir = mkdtempSync(join(base, "cli-ws-"));
    const created = cli(env, ["ws", "create", "proj", "--path", dir, "--label", "team=core"]);
    expect(created.status).toBe(0);
    expect(created.stdout).toMatch(new RegExp(`^w-\\w+ proj ${dir}\\n$`));
    expect(cli(env, ["ws", "create", "proj"]).stderr).toMatch(/already exists/);
    const listed = cli(env, ["ws", "ls"]);
    expect(listed.stdout).toMatch(/^WORKSPACE\s+NAME\s+SANDBOX\s+STATE/);
    expect(listed.stdout).toMatch(/proj\s+host\s+stopped/);
    expect(JSON.parse(cli(env, ["ws", "ls", "--json"]).stdout)[0]).toMatchObject({ name: "proj", root: dir, adopted: true, labels: { team: "core" }, materialization: "stopped" });
    expect(cli(env, ["ws", "label", "proj", "env=dev", "--remove", "team"]).stdout).toBe("env=dev\n");
    expect(JSON.parse(cli(env, ["ws", "ls", "--label", "env=dev", "--json"]).stdout).map((w: { name: string }) => w.name)).toEqual(["proj"]);
    expect(JSON.parse(cli(env, ["ws", "ls", "-l", "team", "--json"]).stdout)).toEqual([]);
    const shown = cli(env, ["ws", "show", "proj"]);
    expect(shown.stdout).toMatch(/root\s+.*\(adopted/);
    expect(shown.stdout).toMatch(/labels\s+env=dev/);
    cli(env, ["exec", "proj", "--", "touch", "file.txt"]);
    // ws stop ends every live process in it; the workspace stays.
    const exec = cli(env, ["exec", "proj", "-d", "--name", "napper", "--", "sleep", "60"]).stdout.trim();
    cli(env, ["pty", "proj", "-d", "--", "sleep", "60"]);
    const session = cli(env, ["run", "hold", "-d", "--ws", "proj", "--file", writeTaskFile("tasks:\n  hold: { cmd: sleep 60 }\n")]).stdout.trim();
    const busy = await eventually(() => {
      const out = cli(env, ["ws", "show", "proj"]).stdout;
      return out.includes("live session runs:") ? out : undefined;
    });
    expect(busy).toMatch(/live\s+1 exec, 1 pty, 1 run/);
    expect(busy).toMatch(new RegExp(`live execs:\\nEXEC\\s+NAME\\s+PID\\s+STARTED\\s+COMMAND\\n${exec}\\s+napper\\s+\\d+\\s+\\d+s ago\\s+sleep 60\\n`));
    expect(busy).toMatch(new RegExp(`live session runs:\\nSESSION\\s+RUN\\s+TASK\\s+PID\\s+COMMAND\\n${session}\\s+1\\s+hold\\s+\\d+\\s+sleep 60\\n`));
    expect(JSON.parse(cli(env, ["ws", "show", "proj", "--json"]).stdout).live_runs).toEqual([expect.objectContaining({ session, run: 1, task: "hold", command: "sleep 60" })]);
    expect(cli(env, ["ws", "stop", "proj"])).toMatchObject({ status: 0, stdout: "proj: stopped 3 processes\n" });
    expect(cli(env, ["ws", "show", "proj"]).stdout).toMatch(/state\s+active, stopped\n\s*live\s+nothing/);
    // rm --force stops what runs again first, after --grace; --grace alone is a slip.
    cli(env, ["exec", "proj", "-d", "--", "sh", "-c", "trap '' TERM; sleep 60"]);
    expect(cli(env, ["ws", "rm", "proj", "--grace", "1s"])).toMatchObject({ status: 2, stderr: "tether: --grace is how long --force gives live processes after SIGTERM: add --force\n" });
    expect(cli(env, ["ws", "rm", "proj", "--force", "--grace", "1s"]).stdout).toMatch(/files in .* are untouched/);
    expect(existsSync(join(dir, "file.txt"))).toBe(true);
    // --copy: a new workspace that starts as a copy of a directory (a relative path is the shell's).
    const copied = spawnSync(process.execPath, [CLI_ENTRY, "ws", "create", "scratch", "--copy", "."], { env, cwd: dir, encoding: "utf8" });
    expect(copied).toMatchObject({ status: 0, stdout: expect.stringMatching(/^w-\w+ scratch \S+\n$/) });
    expect(existsSync(join(copied.stdout.trim().split(" ")[2]!, "file.txt"))).toBe(true);
    expect(cli(env, ["ws", "create", "both", "--path", dir, "--copy", dir])).toMatchObject({ status: 2, stderr: "tether: --path adopts a directory as it is, and --copy makes a new one from a copy: give one of them\n" });
  });

  it("ws create --env and ws env set the variables every process in the workspace gets (K=V, K with its value here, --dotenv files); ws show and --json say them; an exec's --env wins", () => {
    const env = freshEnv();
    expect(cli(env, ["ws", "create", "proj", "--env", "MODE=dev", "-e", "GREETING=hello there"]).status).toBe(0);
    expect(cli(env, ["exec", "proj", "--", "sh", "-c", 'echo "$MODE|$GREETING"']).stdout).toBe("dev|hello there\n");
    expect(cli(env, ["exec", "proj", "--env", "MODE=own", "--", "sh", "-c", "echo $MODE"]).stdout).toBe("own\n");
    expect(cli(env, ["ws", "env", "proj", "API=http://localhost:8080", "--remove", "GREETING"])).toEqual({ status: 0, stdout: "API=http://localhost:8080\nMODE=dev\n", stderr: "" });
    expect(cli(env, ["ws", "env", "proj"]).stdout).toBe("API=http://localhost:8080\nMODE=dev\n");
    expect(cli(env, ["ws", "show", "proj"]).stdout).toMatch(/^env {9}API=http:\/\/localhost:8080 MODE=dev$/m);
    expect(JSON.parse(cli(env, ["ws", "show", "proj", "--json"]).stdout).env).toEqual({ API: "http://localhost:8080", MODE: "dev" });
    expect(cli(env, ["exec", "proj", "--", "sh", "-c", 'echo "${GREETING:-gone}|$API"']).stdout).toBe("gone|http://localhost:8080\n");
    // A dotenv file's variables, and a NAME alone with the value it has here, as exec's --dotenv and --env.
    const file = join(mkdtempSync(join(tmpdir(), "tether-ws-env-")), "proj.env");
    writeFileSync(file, 'TOKEN="from file"\n');
    expect(spawnSync(process.execPath, [CLI_ENTRY, "ws", "env", "proj", "SHELLS", "--dotenv", file, "--remove", "API"], { env: { ...env, SHELLS: "mine" }, encoding: "utf8" }).stdout).toBe("MODE=dev\nSHELLS=mine\nTOKEN=from file\n");
    expect(cli(env, ["ws", "env", "proj", "=x"])).toMatchObject({ status: 2 });
  });

  it("a directory stands for its workspace (exec ., pty ./sub, ws show ..): the first command there adopts it, as pueue add runs where it is typed", () => {
    const env = freshEnv();
    const base = join(ROOT, ".tmp");
    mkdirSync(base, { recursive: true });
    const dir = mkdtempSync(join(base, "cli-here-"));
    mkdirSync(join(dir, "sub"));
    const here = (cwd: string, args: string[]): { status: number | null; stdout: string; stderr: string } => {
      const r = spawnSync(process.execPath, [CLI_ENTRY, ...args], { env, cwd, encoding: "utf8", timeout: 60_000 });
      return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    };
    expect(here(dir, ["ws", "show", "."])).toMatchObject({ status: 1, stderr: expect.stringContaining(`no workspace has the directory ${dir}: a command started there adopts it`) });
    expect(here(dir, ["exec", ".", "--", "pwd"])).toMatchObject({ status: 0, stdout: `${dir}\n` });
    expect(here(join(dir, "sub"), ["ws", "show", ".."]).stdout).toMatch(new RegExp(`^workspace +w-\\w+ \\(${dir.split("/").at(-1)}\\)\n`));
    const pty = here(dir, ["pty", "./sub", "-d", "--", "sleep", "30"]).stdout.trim();
    expect(JSON.parse(here(dir, ["pty", "ls", "sub", "--json"]).stdout).map((p: { id: string }) => p.id)).toEqual([pty]);
    expect(JSON.parse(here(dir, ["ws", "ls", "--json"]).stdout).map((w: { name: string; root: string }) => [w.name, w.root])).toEqual([
      [dir.split("/").at(-1), dir],
      ["sub", join(dir, "sub")],
    ]);
    // The directory tether made for a workspace names it too (it lives in the state dir, which nothing adopts).
    cli(env, ["ws", "create", "made"]);
    const made = (JSON.parse(cli(env, ["ws", "show", "made", "--json"]).stdout) as { id: string; root: string }).root;
    expect(here(made, ["exec", ".", "--", "pwd"])).toMatchObject({ status: 0, stdout: `${made}\n` });
    expect(here(made, ["ws", "show", "."]).stdout).toMatch(/^workspace +w-\w+ \(made\)\n/);
    mkdirSync(join(made, "inner"));
    expect(here(join(made, "inner"), ["exec", ".", "--", "pwd"])).toMatchObject({ status: 1, stderr: expect.stringContaining("is inside tether's state directory") });
  });

  it("--until follows output up to a line a regular expression matches and ends there, the program going on (exec attach, pty read, pty send, logs -f); output that ends without one exits 1", () => {
    const env = freshEnv();
    cli(env, ["ws", "create", "box"]);
    // A server that says it is ready in colour, then runs on: the match ends the command at once.
    const server = cli(env, ["exec", "box", "-d", "--", "sh", "-c", 'echo starting; sleep 0.5; printf "\\033[32mready\\033[0m on 8080\\n"; echo after; sleep 60']).stdout.trim();
    const ready = cli(env, ["exec", "attach", server, "--until", "^ready on [0-9]+$"]);
    expect([ready.status, ready.stdout.split("\n").slice(0, 2)]).toEqual([0, ["starting", "\x1b[32mready\x1b[0m on 8080"]]);
    expect(JSON.parse(cli(env, ["exec", "show", server, "--json"]).stdout).status).toBe("running");
    // A prompt waits before its newline: the line being written counts.
    const prompt = cli(env, ["exec", "box", "-d", "--", "sh", "-c", 'printf "password: "; sleep 60']).stdout.trim();
    expect(cli(env, ["exec", "attach", prompt, "--until", "password: $"])).toMatchObject({ status: 0, stdout: "password: " });
    const none = cli(env, ["exec", "attach", prompt, "--no-follow", "--until", "never"]);
    expect([none.status, none.stderr]).toEqual([1, `tether: exec ${prompt}'s output so far ends without a line matching /never/\n`]);
    const ended = cli(env, ["exec", "attach", cli(env, ["exec", "box", "-d", "--", "echo", "done"]).stdout.trim(), "--until", "never"]);
    expect([ended.status, ended.stdout, ended.stderr]).toEqual([1, "done\n", expect.stringMatching(/^tether: exec e-\w+ ended without a line matching \/never\/\n$/)]);
    expect(cli(env, ["exec", "attach", prompt, "--until", "("])).toMatchObject({ status: 2, stderr: expect.stringContaining("--until takes a regular expression: Invalid regular expression") });
    // A terminal's output, and a session's.
    const pty = cli(env, ["pty", "box", "-d", "--", "sh", "-c", "echo hello there; sleep 60"]).stdout.trim();
    expect(cli(env, ["pty", "read", pty, "--until", "hello"])).toMatchObject({ status: 0, stdout: expect.stringContaining("hello there") });
    // Typed, then what the program writes after it up to a line that matches, as expect's send and expect: only that.
    const shell = cli(env, ["pty", "box", "-d", "--", "sh"]).stdout.trim();
    expect(cli(env, ["pty", "send", shell, "--enter", "--until", "^one-1$", "echo one-$((0+1))"]).status).toBe(0);
    const two = cli(env, ["pty", "send", shell, "--enter", "--until", "^two-2$", "echo two-$((1+1))"]);
    expect(two.status).toBe(0);
    // Up to the end of what the terminal read with that line (here the next prompt too).
    expect(two.stdout).toMatch(/^echo two-\$\(\(1\+1\)\)\r\ntwo-2\r\n/);
    expect(two.stdout).not.toContain("one-1");
    expect(cli(env, ["pty", "send", shell, "-k", "exit", "Enter", "--until", "never"])).toMatchObject({ status: 1, stderr: expect.stringContaining("closed without a line matching /never/") });
    const session = cli(env, ["run", "talk", "-d", "--file", writeTaskFile("tasks:\n  talk: { cmd: 'echo one; sleep 0.5; echo two >&2; sleep 60' }\n")]).stdout.trim();
    const logs = cli(env, ["logs", session, "-f", "--until", "^two$"]);
    expect([logs.status, logs.stdout, logs.stderr]).toEqual([0, "one\n", "two\n"]);
    cli(env, ["cancel", session]);
  });

  it("--since starts at the output stored at a time or later, as docker logs --since: a date and time, or a duration back from now (exec attach, logs)", () => {
    const env = freshEnv();
    cli(env, ["ws", "create", "box"]);
    const exec = cli(env, ["exec", "box", "-d", "--", "sh", "-c", "echo old; sleep 1.5; echo new; sleep 60"]).stdout.trim();
    expect(cli(env, ["exec", "attach", exec, "--until", "old"]).status).toBe(0);
    const between = new Date().toISOString();
    expect(cli(env, ["exec", "attach", exec, "--until", "new"]).status).toBe(0);
    expect(cli(env, ["exec", "attach", exec, "--no-follow", "--since", between])).toMatchObject({ status: 0, stdout: "new\n" });
    expect(cli(env, ["exec", "attach", exec, "--no-follow", "--since", "10m"]).stdout).toBe("old\nnew\n");
    const session = cli(env, ["run", "talk", "-d", "--file", writeTaskFile("tasks:\n  talk: { cmd: 'echo before; sleep 1.5; echo after' }\n")]).stdout.trim();
    expect(cli(env, ["logs", session, "-f", "--until", "before"]).status).toBe(0);
    const middle = new Date().toISOString();
    expect(cli(env, ["logs", session, "-f", "--since", middle])).toMatchObject({ status: 0, stdout: "after\n" });
    expect(cli(env, ["logs", session, "--since", "1m", "--tail", "1"])).toMatchObject({ status: 2, stderr: expect.stringContaining("--since cannot be used with --from or --tail") });
    cli(env, ["exec", "kill", exec]);
  });

  it("stats shows what each live exec, terminal and session run uses with what it started (by name when it has one), as docker stats: processes, CPU, memory", async () => {
    const env = freshEnv();
    cli(env, ["ws", "create", "box"]);
    const hog = cli(env, ["exec", "box", "-d", "--", "python3", "-c", "x = bytearray(80_000_000); import time; time.sleep(60)"]).stdout.trim();
    // Named, it is shown by its name.
    const busy = "spin";
    cli(env, ["exec", "box", "-d", "--name", busy, "--", "sh", "-c", "while :; do :; done"]);
    cli(env, ["pty", "box", "-d", "--name", "three", "--", "sh", "-c", "sleep 60 & sleep 60 & wait"]);
    const session = cli(env, ["run", "nap", "-d", "--ws", "box", "--file", writeTaskFile("tasks:\n  nap: { cmd: 'sleep 60' }\n")]).stdout.trim();
    const ended = cli(env, ["exec", "box", "-d", "--", "true"]).stdout.trim();
    type Row = { kind: string; id: string; processes: number; cpu_percent: number; rss_bytes: number; command: string };
    // Once python has its 80 MB and the terminal's shell both its sleeps.
    const rows = await eventually(() => {
      const now = JSON.parse(cli(env, ["stats", "--json", "--sample", "500ms"]).stdout) as Row[];
      const byId = new Map(now.map((row) => [row.id, row]));
      return (byId.get(hog)?.rss_bytes ?? 0) >= 80_000_000 && byId.get("three")?.processes === 3 ? byId : undefined;
    });
    expect([...rows.keys()].sort()).toEqual([busy, hog, "three", `${session}/1`].sort());
    expect(rows.get(busy)!.cpu_percent).toBeGreaterThan(20);
    expect(rows.get(hog)!.cpu_percent).toBeLessThan(20);
    expect(rows.get(`${session}/1`)).toMatchObject({ kind: "run", command: "nap: sleep 60" });
    expect(rows.has(ended)).toBe(false);
    // Of one workspace: only its own.
    cli(env, ["ws", "create", "other"]);
    const elsewhere = cli(env, ["exec", "other", "-d", "--", "sleep", "60"]).stdout.trim();
    const ids = (...refs: string[]): string[] => (JSON.parse(cli(env, ["stats", "--json", "--sample", "100ms", ...refs]).stdout) as Row[]).map((row) => row.id).sort();
    expect(ids("other")).toEqual([elsewhere]);
    expect(ids("box")).toEqual([busy, hog, "three", `${session}/1`].sort());
    cli(env, ["ws", "stop", "other"]);
    const table = cli(env, ["stats", "--sample", "200ms"]).stdout;
    expect(table).toMatch(/^KIND +ID +WORKSPACE +PID +PROCS +CPU +MEM +COMMAND$/m);
    expect(table).toMatch(new RegExp(`^exec +${hog} +box +\\d+ +1 +[\\d.]+% +(7[6-9]|[89]\\d|1\\d\\d)\\.\\d MiB +python3`, "m"));
    cli(env, ["ws", "stop", "box"]);
    expect(cli(env, ["stats"]).stdout).toBe("nothing live: no exec, terminal or session run is running\n");
  });

  it("listings write a control character in a path or a command as an escape, never raw to the terminal; --json keeps it", () => {
    const env = freshEnv();
    const base = join(ROOT, ".tmp");
    mkdirSync(base, { recursive: true });
    const dir = join(mkdtempSync(join(base, "cli-ws-")), "two\nlines \x1b[2Jcleared");
    mkdirSync(dir);
    const shown = dir.replace("\n", "\\n").replace("\x1b", "\\x1b");
    expect(cli(env, ["ws", "create", "odd", "--path", dir]).stdout).toMatch(/^w-\w+ odd (.*)\n$/);
    expect(cli(env, ["ws", "create", "odder", "--path", dir]).stdout.split(" ").slice(2).join(" ")).toBe(`${shown}\n`);
    const listed = cli(env, ["ws", "ls"]).stdout.split("\n");
    expect(listed.filter((line) => line.includes(" odd "))).toEqual([expect.stringMatching(new RegExp(`odd +host +stopped .* ${shown.replaceAll("\\", "\\\\").replace("[", "\\[")}$`))]);
    expect(listed).toHaveLength(4);
    expect(cli(env, ["ws", "show", "odd"]).stdout).toContain(`root        ${shown} (adopted`);
    expect(JSON.parse(cli(env, ["ws", "show", "odd", "--json"]).stdout).root).toBe(dir);
    cli(env, ["exec", "odd", "-d", "--", "sh", "-c", "sleep 60", "x\ny"]);
    const execs = cli(env, ["exec", "ls", "odd"]).stdout;
    expect(execs).toContain("sh -c 'sleep 60' $'x\\ny'");
    expect(execs).not.toContain("\x1b");
    cli(env, ["ws", "stop", "odd"]);
  });

  it("exec pipes stdin, keeps stdout and stderr apart, and exits with the command's code (128+signal when killed, 127 when missing)", () => {
    const env = freshEnv();
    cli(env, ["ws", "create", "w"]);
    const cat = cli(env, ["exec", "w", "--", "cat"], "hi\n");
    expect([cat.status, cat.stdout]).toEqual([0, "hi\n"]);
    // A large pipe: the CLI waits for the stream to drain many times, and says nothing about it.
    const big = cli(env, ["exec", "w", "--", "wc", "-c"], "x".repeat(20_000_000));
    expect([big.status, big.stdout.trim(), big.stderr]).toEqual([0, "20000000", ""]);
    // Stdin that is /dev/null is the command's own: nothing is piped through the daemon (and it reads end of input at once).
    const fd0 = (stdin: "ignore" | "pipe") => spawnSync(process.execPath, [CLI_ENTRY, "exec", "w", "--", "sh", "-c", "readlink /proc/self/fd/0; cat"], { env, stdio: [stdin, "pipe", "pipe"], encoding: "utf8" });
    expect(fd0("ignore").stdout).toBe("/dev/null\n");
    expect(fd0("pipe").stdout).toMatch(/^socket:\[\d+\]\n$/);
    const split = cli(env, ["exec", "w", "--", "sh", "-c", "echo out; echo err >&2; exit 3"]);
    expect([split.status, split.stdout, split.stderr]).toEqual([3, "out\n", "err\n"]);
    const noDashes = cli(env, ["exec", "w", "--env", "X=1", "sh", "-c", "echo $X"]);
    expect(noDashes.stdout).toBe("1\n");
    // --env NAME takes the value NAME has here, and leaves out one that has none, as docker exec -e does.
    const passed = cli({ ...env, FROM_HERE: "here" }, ["exec", "w", "--env", "FROM_HERE", "--env", "NOT_SET_HERE", "--", "sh", "-c", "echo $FROM_HERE ${NOT_SET_HERE-unset}"]);
    expect([passed.status, passed.stdout]).toEqual([0, "here unset\n"]);
    expect(cli(env, ["exec", "w", "--env", "1BAD", "--", "true"])).toMatchObject({ status: 2, stderr: 'tether: --env takes NAME=VALUE, or a NAME whose value you have, got "1BAD"\n' });
    expect(cli(env, ["exec", "w", "--", "sh", "-c", "kill -TERM $$"]).status).toBe(143);
    const missing = cli(env, ["exec", "w", "--", "no-such-command-xyz"]);
    expect(missing.status).toBe(127);
    expect(missing.stderr).toMatch(/cannot start no-such-command-xyz: .*ENOENT/);
    const escape = cli(env, ["exec", "w", "--cwd", "..", "--", "pwd"]);
    expect(escape.status).not.toBe(0);
    expect(escape.stderr).toMatch(/outside the workspace root/);
    const tty = cli(env, ["exec", "w", "-t", "--", "sh", "-c", "test -t 0 && test -t 1 && echo on-a-tty"]);
    expect(tty.stdout).toMatch(/on-a-tty/);
    // Under -t the command gets the CLI's TERM and locale, as ssh sends them.
    const termed = cli({ ...env, TERM: "vt220", LANG: "C.UTF-8" }, ["exec", "w", "-t", "--", "sh", "-c", 'echo "[$TERM][$LANG]"']);
    expect(termed.stdout).toContain("[vt220][C.UTF-8]");
  });

  it("large output reaches stdout and stderr byte for byte, through a pipe and into a file, live and on reattach", () => {
    const env = freshEnv();
    const created = cli(env, ["ws", "create", "w"]).stdout.split(" ");
    const root = created[2]!.trim();
    const bytes = randomBytes(5_000_000);
    writeFileSync(join(root, "blob"), bytes);
    // Chunks of up to 1 MiB, each many HTTP/2 frames: the CLI writes them on as the pieces they came in.
    const piped = spawnSync(process.execPath, [CLI_ENTRY, "exec", "w", "--", "sh", "-c", "cat blob; cat blob >&2"], { env, maxBuffer: 1 << 26 });
    expect([piped.status, piped.stdout.equals(bytes), piped.stderr.equals(bytes)]).toEqual([0, true, true]);
    const out = join(root, "copy");
    const toFile = spawnSync("sh", ["-c", `"$0" "$1" exec w -- cat blob > "$2"`, process.execPath, CLI_ENTRY, out], { env });
    expect(toFile.status).toBe(0);
    expect(readFileSync(out).equals(bytes)).toBe(true);
    const id = JSON.parse(cli(env, ["exec", "ls", "w", "--json"]).stdout)[0].id as string;
    const again = spawnSync(process.execPath, [CLI_ENTRY, "exec", "attach", id, "--from", "1000"], { env, maxBuffer: 1 << 26 });
    expect([again.status, again.stdout.equals(bytes.subarray(1000))]).toEqual([0, true]);
  });

  it("a large pipe through cat comes back byte for byte while it is still going in (neither end waits on the other for ever)", () => {
    const env = freshEnv();
    cli(env, ["ws", "create", "w"]);
    // Both ends write far more than a socket holds at once: stdin in, output back.
    const bytes = randomBytes(20_000_000);
    const echoed = spawnSync(process.execPath, [CLI_ENTRY, "exec", "w", "--", "cat"], { env, input: bytes, maxBuffer: 1 << 26, timeout: 60_000 });
    expect([echoed.status, echoed.stdout.byteLength, echoed.stdout.equals(bytes)]).toEqual([0, bytes.byteLength, true]);
  });

  it("a reader that goes away ends the CLI quietly with SIGPIPE's status (141); the exec goes on, detached", () => {
    const env = freshEnv();
    cli(env, ["ws", "create", "w"]);
    const piped = spawnSync("bash", ["-o", "pipefail", "-c", `"$0" "$1" exec w -- sh -c 'head -c 1000000 /dev/zero; sleep 1; echo done' | head -c 1 >/dev/null`, process.execPath, CLI_ENTRY], { env, encoding: "utf8", timeout: 60_000 });
    expect([piped.status, piped.stderr]).toEqual([141, ""]);
    const listed = cli(env, ["exec", "ls", "w", "--json"]);
    const id = JSON.parse(listed.stdout)[0].id as string;
    // A reattach whose reader never reads, too.
    const head = spawnSync("bash", ["-o", "pipefail", "-c", `"$0" "$1" exec attach ${id} | true`, process.execPath, CLI_ENTRY], { env, encoding: "utf8", timeout: 60_000 });
    expect([head.status, head.stderr]).toEqual([141, ""]);
    const ended = cli(env, ["exec", "attach", id]);
    expect([ended.status, ended.stdout.endsWith("done\n")]).toEqual([0, true]);
  });

  it("Ctrl-C goes to the command, not to the CLI; three in two seconds detach from one that ignores it", async () => {
    const env = freshEnv();
    cli(env, ["ws", "create", "w"]);
    const child = spawn(process.execPath, [CLI_ENTRY, "exec", "w", "--", "sh", "-c", 'trap "echo got INT; exit 7" INT; echo ready; while :; do sleep 0.1; done'], { env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    await eventually(() => (out.includes("ready") ? true : undefined));
    child.kill("SIGINT");
    // "close", not "exit": the exit can come before the last of its output has been read.
    const code = await new Promise<number | null>((resolve) => child.once("close", resolve));
    expect(out).toContain("got INT");
    expect(code).toBe(7);
    // A command that ignores it: Ctrl-C three times in two seconds detaches, and the command goes on.
    const stubborn = spawn(process.execPath, [CLI_ENTRY, "exec", "w", "--", "sh", "-c", 'trap "echo got INT" INT; echo ready; while :; do sleep 0.1; done'], { env, stdio: ["ignore", "pipe", "pipe"] });
    let seen = "";
    let said = "";
    stubborn.stdout.on("data", (d: Buffer) => (seen += d.toString()));
    stubborn.stderr.on("data", (d: Buffer) => (said += d.toString()));
    await eventually(() => (seen.includes("ready") ? true : undefined));
    for (let i = 1; i <= 2; i++) {
      stubborn.kill("SIGINT");
      await eventually(() => (seen.split("got INT").length - 1 === i ? true : undefined));
    }
    stubborn.kill("SIGINT");
    expect(await new Promise<number | null>((resolve) => stubborn.once("close", resolve))).toBe(130);
    const id = /exec (e-\w+) goes on \(Ctrl-C 3 times detaches\)/.exec(said)?.[1];
    expect(said).toContain(`Reattach: tether exec attach ${id} --tail 0   stop it: tether exec kill ${id} --signal KILL`);
    expect(JSON.parse(cli(env, ["exec", "show", id!, "--json"]).stdout).status).toBe("running");
    expect(cli(env, ["exec", "kill", id!, "--signal", "KILL"]).status).toBe(0);
  });

  it("exec -d returns an id at once; exec ls, attach (from 0 or an offset, after the end), kill and show work by id prefix", async () => {
    const env = freshEnv();
    cli(env, ["ws", "create", "w"]);
    // stdout and stderr reach the daemon on connections of their own, stored in the order it reads
    // them: the pause puts "one" before "two", so byte 4 is where "two" starts.
    const detached = cli(env, ["exec", "w", "-d", "--", "sh", "-c", "echo one; sleep 0.1; echo two >&2; sleep 0.3; echo three; exit 4"]);
    expect(detached.status).toBe(0);
    const id = detached.stdout.trim();
    expect(id).toMatch(/^e-\w+$/);
    expect(cli(env, ["exec", "ls", "w"]).stdout).toMatch(new RegExp(`^${id}\\s+w\\s+(running|exited)\\s`, "m"));
    const attached = cli(env, ["exec", "attach", id.slice(0, 5)]);
    expect([attached.status, attached.stdout, attached.stderr]).toEqual([4, "one\nthree\n", "two\n"]);
    // -t: each line after the time it was stored, per stream, as docker logs -t shows them.
    const stamped = cli(env, ["exec", "attach", id, "-t"]);
    const iso = "\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z";
    expect(stamped.stdout).toMatch(new RegExp(`^${iso} one\\n${iso} three\\n$`));
    expect(stamped.stderr).toMatch(new RegExp(`^${iso} two\\n$`));
    const times = stamped.stdout.split("\n").slice(0, 2).map((l) => Date.parse(l.split(" ")[0]!));
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(300);
    const rest = cli(env, ["exec", "attach", id, "--from", "4"]);
    expect(rest.stdout + rest.stderr).toBe("three\ntwo\n");
    const beyond = cli(env, ["exec", "attach", id, "--from", "99"]);
    expect([beyond.status, beyond.stderr]).toEqual([1, `tether: offset 99 is past the end of exec ${id}'s output: it ends at offset 14 so far\n`]);
    expect(JSON.parse(cli(env, ["exec", "show", id, "--json"]).stdout)).toMatchObject({ id, status: "exited", exit_code: 4, stdout_bytes: 10, stderr_bytes: 4 });

    const sleeper = cli(env, ["exec", "w", "-d", "--", "sleep", "60"]).stdout.trim();
    // --running: the live ones alone.
    expect(JSON.parse(cli(env, ["exec", "ls", "w", "--running", "--json"]).stdout).map((e: { id: string }) => e.id)).toEqual([sleeper]);
    expect(cli(env, ["exec", "ls", "w", "--running"]).stdout).not.toContain(id);
    expect(cli(env, ["exec", "kill", sleeper, "--signal", "KILL"]).status).toBe(0);
    await eventually(() => (JSON.parse(cli(env, ["exec", "show", sleeper, "--json"]).stdout).status === "signalled" ? true : undefined));
    expect(cli(env, ["exec", "attach", sleeper]).status).toBe(137);
    const late = cli(env, ["exec", "kill", sleeper]);
    expect(late.stderr).toMatch(/has ended/);
  });

  it("exec --name names it as docker run --name does: exec ls and show say it, attach, send, rename and kill take it; a taken name is refused with the holder", async () => {
    const env = freshEnv();
    cli(env, ["ws", "create", "w"]);
    const id = cli(env, ["exec", "w", "-d", "-i", "--name", "web", "--", "sh", "-c", "echo up; read l; echo \"got $l\"; sleep 60"]).stdout.trim();
    expect(cli(env, ["exec", "ls"]).stdout).toMatch(new RegExp(`^EXEC +NAME +WORKSPACE .*\n${id} +web +w +running `));
    expect(cli(env, ["exec", "show", "web"]).stdout).toContain(`exec        ${id} (web) in workspace `);
    expect(JSON.parse(cli(env, ["exec", "show", "web", "--json"]).stdout)).toMatchObject({ id, name: "web" });
    const taken = cli(env, ["exec", "w", "--name", "web", "--", "true"]);
    expect([taken.status, taken.stderr]).toEqual([1, `tether: exec ${id} is running with the name web: attach to it (tether exec attach web), stop it (tether exec kill web), or pick another name\n`]);
    expect(cli(env, ["exec", "send", "web", "hi", "--line"]).status).toBe(0);
    expect(cli(env, ["exec", "attach", "web", "--until", "got hi"])).toMatchObject({ status: 0, stdout: "up\ngot hi\n" });
    // No E: the one exec that runs, as pueue follow; with two running, they are named.
    expect(cli(env, ["exec", "attach", "--no-follow"])).toMatchObject({ status: 0, stdout: "up\ngot hi\n" });
    const other = cli(env, ["exec", "w", "-d", "--", "sleep", "60"]).stdout.trim();
    expect(cli(env, ["exec", "attach", "--no-follow"])).toMatchObject({ status: 1, stderr: `tether: 2 execs run (${other}, web): name the one to attach to, or give several (tether exec attach E1 E2)\n` });
    cli(env, ["exec", "kill", other]);
    // Renamed, as docker rename: known by the new name only.
    expect(cli(env, ["exec", "rename", "web", "api"])).toMatchObject({ status: 0, stdout: `${id} api\n` });
    expect(cli(env, ["exec", "show", "web"]).status).toBe(1);
    expect(cli(env, ["exec", "rename", "api", "web"]).stdout).toBe(`${id} web\n`);
    expect(cli(env, ["exec", "rename", "web"]).status).toBe(2);
    expect(cli(env, ["exec", "kill", "web"]).stdout).toBe(`sent SIGTERM to ${id}\n`);
    await eventually(() => (JSON.parse(cli(env, ["exec", "show", "web", "--json"]).stdout).status === "signalled" ? true : undefined));
    // Ended, its name is free again.
    expect(cli(env, ["exec", "w", "--name", "web", "--", "true"]).status).toBe(0);
  });

  it("exec restart starts it again as it was started, as docker restart, and prints the new id; one whose command is gone says why, with a shell's exit code", async () => {
    const env = freshEnv();
    const dir = mkdtempSync(join(tmpdir(), "tether-restart-"));
    writeFileSync(join(dir, "serve.sh"), 'echo "serving $PORT"\nsleep 60\n', { mode: 0o755 });
    cli(env, ["ws", "create", "w", "--path", dir]);
    const first = cli(env, ["exec", "w", "-d", "--name", "web", "--env", "PORT=8080", "--", "./serve.sh"]).stdout.trim();
    expect(cli(env, ["exec", "attach", "web", "--until", "serving 8080"]).status).toBe(0);
    const restarted = cli(env, ["exec", "restart", "web", "--grace", "2s"]);
    expect(restarted.status).toBe(0);
    const second = restarted.stdout.trim();
    expect(second).toMatch(/^e-\w+$/);
    expect(second).not.toBe(first);
    expect(cli(env, ["exec", "attach", "web", "--until", "serving 8080"])).toMatchObject({ status: 0, stdout: "serving 8080\n" });
    expect(JSON.parse(cli(env, ["exec", "show", first, "--json"]).stdout)).toMatchObject({ status: "signalled", error: "stopped: restarted (tether exec restart)" });
    cli(env, ["exec", "kill", "web", "--signal", "KILL"]);
    await eventually(() => (JSON.parse(cli(env, ["exec", "show", "web", "--json"]).stdout).status === "signalled" ? true : undefined));
    rmSync(join(dir, "serve.sh"));
    const gone = cli(env, ["exec", "restart", "web"]);
    expect([gone.status, gone.stdout, gone.stderr]).toEqual([127, "", expect.stringMatching(/^tether: exec e-\w+ could not start: .*serve\.sh.*\n$/)]);
    expect(cli(env, ["exec", "restart"]).stderr).toContain("tether exec restart E [--grace 5s]");
    rmSync(dir, { recursive: true });
  });

  it("exec attach of an exec that keeps only its last output reads on past what is dropped while it was held up, to the end", () => {
    const env = freshEnv();
    cli(env, ["ws", "create", "w"]);
    const lines = (48 * 1024 * 1024) / 64;
    const id = cli(env, ["exec", "w", "-d", "--max-output", "16M", "--", "sh", "-c", `echo start; sleep 1; awk 'BEGIN { for (i = 1; i <= ${lines}; i++) printf "%063d\\n", i }'`]).stdout.trim();
    // A reader that takes nothing until the exec has ended: the flood and the drop of its oldest 32 MiB happen meanwhile.
    const tether = `"${process.execPath}" "${CLI_ENTRY}"`;
    const slow = spawnSync("sh", ["-c", `${tether} exec attach ${id} | (until ${tether} exec show ${id} | grep -q '^status      exited'; do sleep 0.1; done; cat)`], { env, encoding: "utf8", maxBuffer: 128 * 1024 * 1024, timeout: 60_000 });
    expect([slow.status, slow.stderr]).toEqual([0, ""]);
    expect(slow.stdout.startsWith("start\n")).toBe(true);
    expect(slow.stdout.endsWith(`${String(lines).padStart(63, "0")}\n`)).toBe(true);
    expect(slow.stdout.length).toBeLessThan(48 * 1024 * 1024);
  });

  it("exec --restart on-failure:N starts a failing command again up to N times, as docker run --restart; show says so; a bad policy is refused", async () => {
    const env = freshEnv();
    cli(env, ["ws", "create", "w"]);
    const first = cli(env, ["exec", "w", "-d", "--name", "job", "--restart", "on-failure:2", "--", "sh", "-c", "echo failing; exit 5"]).stdout.trim();
    const lineOf = (): { id: string; status: string; restart_count: number; restart: string }[] => (JSON.parse(cli(env, ["exec", "ls", "w", "--json"]).stdout) as { id: string; status: string; restart_count: number; restart: string }[]);
    const line = await eventually(() => {
      const execs = lineOf();
      return execs.length === 3 && execs.every((e) => e.status === "exited") ? execs : undefined;
    });
    expect(line.map((e) => [e.restart, e.restart_count])).toEqual([["on-failure:2", 2], ["on-failure:2", 1], ["on-failure:2", 0]]);
    expect(line[2]!.id).toBe(first);
    expect(cli(env, ["exec", "show", "job"]).stdout).toContain("restart     on-failure:2 (restart 2 of its command)\n");
    expect(cli(env, ["exec", "attach", "job"])).toMatchObject({ status: 5, stdout: "failing\n" });
    const bad = cli(env, ["exec", "w", "--restart", "sometimes", "--", "true"]);
    expect([bad.status, bad.stderr]).toEqual([2, 'tether: --restart takes no, on-failure, on-failure:N (at most N restarts), always or unless-stopped, as docker run --restart, got "sometimes"\n']);
    // docker's unless-stopped is always here.
    const steady = cli(env, ["exec", "w", "-d", "--name", "steady", "--restart", "unless-stopped", "--", "sleep", "60"]).stdout.trim();
    expect(JSON.parse(cli(env, ["exec", "show", steady, "--json"]).stdout).restart).toBe("always");
    cli(env, ["exec", "kill", steady]);
    expect(cli(env, ["exec", "w", "--restart", "always", "--rm", "--", "true"]).status).toBe(2);
  });

  it("exec wait blocks until each exec has ended for good, as docker wait: a line for each, its exit code (the first failing of several), through restarts; --label waits for every running one; --timeout exits 124", () => {
    const env = freshEnv();
    cli(env, ["ws", "create", "w"]);
    const quick = cli(env, ["exec", "w", "-d", "--", "sh", "-c", "sleep 0.3; exit 3"]).stdout.trim();
    expect(cli(env, ["exec", "wait", quick])).toEqual({ status: 3, stdout: `${quick}: exited 3\n`, stderr: "" });
    // Through its restart policy's restarts, to the last: its name, its end.
    cli(env, ["exec", "w", "-d", "--name", "flaky", "--restart", "on-failure:2", "--", "sh", "-c", "sleep 0.2; exit 5"]);
    const waited = cli(env, ["exec", "wait", "flaky"]);
    expect([waited.status, waited.stdout]).toEqual([5, expect.stringMatching(/^e-\w+ \(flaky\): exited 5\n$/)]);
    expect(JSON.parse(cli(env, ["exec", "show", "flaky", "--json"]).stdout)).toMatchObject({ id: waited.stdout.split(" ")[0], restart_count: 2 });
    // Every running one with the labels, each line as it ends; the exit code of the one that failed.
    const ok = cli(env, ["exec", "w", "-d", "-l", "job=7", "--", "sleep", "1.5"]).stdout.trim();
    const killed = cli(env, ["exec", "w", "-d", "-l", "job=7", "--", "sh", "-c", "sleep 0.2; kill -9 $$"]).stdout.trim();
    const labelled = cli(env, ["exec", "wait", "--label", "job=7"]);
    expect([labelled.status, labelled.stdout]).toEqual([137, `${killed}: signalled SIGKILL (137)\n${ok}: exited 0\n`]);
    expect(JSON.parse(cli(env, ["exec", "wait", ok, "--json"]).stdout)).toMatchObject({ id: ok, status: "exited", exit_code: 0 });
    // Still running by --timeout: 124, as timeout(1); the exec goes on.
    cli(env, ["exec", "w", "-d", "--name", "server", "--", "sleep", "60"]);
    expect(cli(env, ["exec", "wait", "server", "--timeout", "300ms"])).toMatchObject({ status: 124, stderr: expect.stringMatching(/^tether: exec e-\w+ had not ended within 300ms: tether exec kill server stops it; --timeout waits longer\n$/) });
    expect(JSON.parse(cli(env, ["exec", "show", "server", "--json"]).stdout).status).toBe("running");
    expect(cli(env, ["exec", "wait", "nosuch"])).toMatchObject({ status: 1, stderr: 'tether: no exec "nosuch": tether exec ls lists them\n' });
    expect(cli(env, ["exec", "wait"]).status).toBe(2);
    cli(env, ["ws", "stop", "w"]);
  });

  it("exec stop stops each as docker stop (SIGTERM, SIGKILL after --grace), saying how it ended; --label stops every running one with the labels; not restarted", () => {
    const env = freshEnv();
    cli(env, ["ws", "create", "w"]);
    cli(env, ["exec", "w", "-d", "--name", "web", "--restart", "always", "--", "sleep", "60"]);
    const stubborn = cli(env, ["exec", "w", "-d", "--", "sh", "-c", "trap '' TERM; echo up; while :; do sleep 0.1; done"]).stdout.trim();
    expect(cli(env, ["exec", "attach", stubborn, "--until", "^up$"]).status).toBe(0);
    const stopped = cli(env, ["exec", "stop", "web", stubborn, "--grace", "500ms"]);
    expect(stopped.status).toBe(0);
    const lines = stopped.stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(2);
    expect(lines).toEqual(expect.arrayContaining([expect.stringMatching(/^e-\w+ \(web\): signalled SIGTERM \(143\)$/), `${stubborn}: signalled SIGKILL (137)`]));
    const jobs = [1, 2].map(() => cli(env, ["exec", "w", "-d", "-l", "job=9", "--", "sleep", "60"]).stdout.trim());
    const labelled = cli(env, ["exec", "stop", "-l", "job=9"]);
    expect(labelled.stdout.split("\n").sort()).toEqual(["", ...jobs.map((id) => `${id}: signalled SIGTERM (143)`).sort()]);
    expect(JSON.parse(cli(env, ["exec", "ls", "w", "--running", "--json"]).stdout)).toEqual([]);
    expect(cli(env, ["exec", "stop", "-l", "job=9"]).stderr).toBe("no running exec has the labels job=9\n");
  });

  it("exec --timeout stops a command that runs too long, as a CI step's timeout: the CLI says so and exits as the signal's; show says its timeout; a bad duration is refused", () => {
    const env = freshEnv();
    cli(env, ["ws", "create", "w"]);
    const late = cli(env, ["exec", "w", "--timeout", "300ms", "--", "sh", "-c", "echo start; sleep 30 & wait"]);
    expect(late).toEqual({ status: 143, stdout: "start\n", stderr: "tether: timed out after 300ms (its --timeout)\n" });
    const id = cli(env, ["exec", "w", "-d", "--timeout", "1h30m", "--", "true"]).stdout.trim();
    expect(cli(env, ["exec", "wait", id]).status).toBe(0);
    expect(cli(env, ["exec", "show", id]).stdout).toContain("\ntimeout     1h30m\n");
    expect(JSON.parse(cli(env, ["exec", "show", id, "--json"]).stdout).timeout_ms).toBe(5_400_000);
    expect(cli(env, ["exec", "w", "--timeout", "soon", "--", "true"])).toMatchObject({ status: 2, stderr: 'tether: --timeout takes a duration such as 30s, 10m or 1h30m, got "soon"\n' });
  });

  it("exec attach of several execs (named, or --label) shows each line after its exec's name, as docker compose logs: whole lines however the chunks cut them, stderr's on stderr, how each ended; --tail and --no-follow apply to each", () => {
    const env = freshEnv();
    cli(env, ["ws", "create", "w"]);
    cli(env, ["exec", "w", "-d", "--name", "web", "-l", "app=demo", "--", "sh", "-c", "sleep 1.5; echo 'web up'; echo oops >&2; exit 2"]);
    // A line written in two pieces comes out whole.
    const db = cli(env, ["exec", "w", "-d", "-l", "app=demo", "--", "sh", "-c", "printf 'db '; sleep 0.3; echo ready; sleep 1.5"]).stdout.trim();
    const both = cli(env, ["exec", "attach", "-l", "app=demo"]);
    expect(both.status).toBe(0);
    const pad = (name: string): string => name.padEnd(Math.max(db.length, 3));
    expect(both.stdout.split("\n").sort()).toEqual(["", `${pad(db)} | db ready`, `${pad("web")} | web up`]);
    expect(both.stderr.split("\n").sort()).toEqual(["", `${pad(db)} | exited 0`, `${pad("web")} | exited 2`, `${pad("web")} | oops`]);
    const tail = cli(env, ["exec", "attach", "web", db, "--tail", "1", "--no-follow"]);
    expect([tail.status, tail.stdout, tail.stderr.split("\n").sort()]).toEqual([0, `${pad(db)} | db ready\n`, ["", `${pad(db)} | exited 0`, `${pad("web")} | exited 2`, `${pad("web")} | oops`]]);
    expect(cli(env, ["exec", "attach", "web", db, "--from", "5"])).toMatchObject({ status: 2, stderr: "tether: --from goes with one exec: several execs' output comes a line at a time after each one's name, from their start, --tail or --since\n" });
    expect(cli(env, ["exec", "attach", "-l", "app=none"])).toMatchObject({ status: 0, stdout: "", stderr: "no running exec has the labels app=none\n" });
  });

  it("exec --name N -A goes on with the running exec named N instead of a second start (a script's \"make sure it runs\"): -d prints its id, else attaches; once it has ended, -A starts one anew", async () => {
    const env = freshEnv();
    cli(env, ["ws", "create", "w"]);
    const first = cli(env, ["exec", "w", "-d", "--name", "dev", "-A", "--", "sh", "-c", "echo up; sleep 60"]).stdout.trim();
    expect(cli(env, ["exec", "w", "-d", "--name", "dev", "-A", "--", "sh", "-c", "echo up; sleep 60"])).toEqual({ status: 0, stdout: `${first}\n`, stderr: "" });
    // Without -d it attaches: the output so far, then live, and the exit once it ends.
    const attached = spawn(process.execPath, [CLI_ENTRY, "exec", "w", "--name", "dev", "-A", "--", "true"], { env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    attached.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    await eventually(() => (out === "up\n" ? true : undefined));
    cli(env, ["exec", "kill", "dev"]);
    expect(await new Promise((resolve) => attached.once("exit", resolve))).toBe(143);
    // Once it has ended, -A starts one anew.
    const next = cli(env, ["exec", "w", "-d", "--name", "dev", "-A", "--", "sleep", "60"]).stdout.trim();
    expect(next).not.toBe(first);
    expect(JSON.parse(cli(env, ["exec", "ls", "w", "--running", "--json"]).stdout).map((e: { id: string }) => e.id)).toEqual([next]);
    expect(cli(env, ["exec", "w", "-A", "--", "true"])).toMatchObject({ status: 2, stderr: "tether: -A goes on with the running exec of the name given, as pty -A does: give it --name NAME\n" });
    cli(env, ["ws", "stop", "w"]);
  });

  it("stats -w samples again and again until Ctrl-C, as docker stats: a JSON array a line, or a table after another", async () => {
    const env = freshEnv();
    cli(env, ["ws", "create", "w"]);
    cli(env, ["exec", "w", "-d", "--name", "napper", "--", "sleep", "60"]);
    const watch = async (...args: string[]): Promise<{ code: number | null; out: string }> => {
      const child = spawn(process.execPath, [CLI_ENTRY, "stats", "-w", "--sample", "100ms", ...args], { env, stdio: ["ignore", "pipe", "inherit"] });
      let out = "";
      child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
      await eventually(() => (out.split("napper").length > 3 ? true : undefined));
      child.kill("SIGINT");
      const code = await new Promise<number | null>((resolve) => child.once("close", resolve));
      return { code, out };
    };
    const json = await watch("--json");
    expect(json.code).toBe(0);
    const samples = json.out.trim().split("\n").map((line) => JSON.parse(line) as { id: string; kind: string }[]);
    expect(samples.length).toBeGreaterThanOrEqual(3);
    for (const sample of samples) expect(sample.map((row) => [row.kind, row.id])).toEqual([["exec", "napper"]]);
    // Not on a terminal: one table after another, a blank line between.
    const tables = await watch();
    expect(tables.code).toBe(0);
    expect(tables.out).toMatch(/^KIND +ID .*\nexec +napper .*\n\nKIND +ID .*\nexec +napper /);
    cli(env, ["ws", "stop", "w"]);
  });

  it("exec attach -F follows a name on to the next exec started with it as each ends (its restart policy's, exec restart's), as tail -F; Ctrl-C ends it", async () => {
    const env = freshEnv();
    cli(env, ["ws", "create", "w"]);
    // Says which start it is and ends, three times (a restart policy's), then waits.
    const script = 'n=$(cat n 2>/dev/null || echo 0); n=$((n + 1)); echo $n > n; echo "start $n"; [ $n -ge 3 ] && sleep 60; exit 1';
    cli(env, ["exec", "w", "-d", "--name", "svc", "--restart", "on-failure", "--", "sh", "-c", script]);
    const child = spawn(process.execPath, [CLI_ENTRY, "exec", "attach", "svc", "-F"], { env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (err += chunk.toString()));
    await eventually(() => (out.includes("start 3") ? true : undefined));
    // Each exec's output, whole, in order: it may have attached to the first or the second.
    expect(out).toMatch(/^(start 1\n)?start 2\nstart 3\n$/);
    expect(err).toMatch(/^tether: exec e-\w+ exited 1; following the next exec named svc \(Ctrl-C ends\)\n/);
    child.kill("SIGINT");
    expect(await new Promise<number | null>((resolve) => child.once("close", resolve))).toBe(130);
    expect(err).toContain("detached from the execs named svc. Follow them again: tether exec attach svc -F --tail 0");
    // A name is what it follows: an exec without one is refused at once.
    const unnamed = cli(env, ["exec", "w", "-d", "--", "true"]).stdout.trim();
    expect(cli(env, ["exec", "attach", unnamed, "-F"])).toMatchObject({ status: 2, stderr: `tether: -F follows an exec's name to the next exec started with it, and exec ${unnamed} has none (exec --name gives one): attach without -F\n` });
    cli(env, ["ws", "stop", "w"]);
  });

  it("exec --label tags an exec; exec ls --label finds it (a LABELS column once one has labels), show and --json say them; exec kill --label signals every running one with them", async () => {
    const env = freshEnv();
    cli(env, ["ws", "create", "w"]);
    const plain = cli(env, ["exec", "w", "-d", "--", "sleep", "60"]).stdout.trim();
    expect(cli(env, ["exec", "ls"]).stdout).not.toContain("LABELS");
    const a = cli(env, ["exec", "w", "-d", "--label", "job=42", "-l", "step=build", "--", "sleep", "60"]).stdout.trim();
    const b = cli(env, ["exec", "w", "-d", "--label", "job=42", "--", "sleep", "60"]).stdout.trim();
    expect(cli(env, ["exec", "ls", "--label", "job=42"]).stdout).toMatch(new RegExp(`^EXEC +NAME +WORKSPACE +STATUS +EXIT +STARTED +LABELS +COMMAND\\n${b} .* job=42 +sleep 60\\n${a} .* job=42,step=build +sleep 60\\n$`));
    expect(cli(env, ["exec", "show", a]).stdout).toContain("labels      job=42,step=build\n");
    expect(JSON.parse(cli(env, ["exec", "show", a, "--json"]).stdout)).toMatchObject({ labels: { job: "42", step: "build" } });
    const killed = cli(env, ["exec", "kill", "--label", "job=42", "--signal", "KILL"]);
    expect([killed.status, killed.stdout]).toEqual([0, `sent KILL to ${b}\nsent KILL to ${a}\n`]);
    await eventually(() => (JSON.parse(cli(env, ["exec", "ls", "--running", "--json"]).stdout).length === 1 ? true : undefined));
    expect(JSON.parse(cli(env, ["exec", "ls", "--running", "--json"]).stdout).map((e: { id: string }) => e.id)).toEqual([plain]);
    expect(cli(env, ["exec", "kill", "--label", "job=42"])).toMatchObject({ status: 0, stderr: "no running exec has the labels job=42\n" });
    cli(env, ["ws", "stop", "w"]);
  });

  it("exec and pty --dotenv give the variables of dotenv files, as docker run --env-file: a later file's over an earlier one's, --env over both; a missing one is refused; --env-file is pointed to it", async () => {
    const env = freshEnv();
    cli(env, ["ws", "create", "w"]);
    const dir = mkdtempSync(join(tmpdir(), "tether-dotenv-"));
    writeFileSync(join(dir, "base.env"), '# the defaults\nA=1\nB="two words"\nexport C=3\n');
    writeFileSync(join(dir, "local.env"), "C=local\n");
    const got = cli(env, ["exec", "w", "--dotenv", join(dir, "base.env"), "--dotenv", join(dir, "local.env"), "--env", "A=over", "--", "sh", "-c", 'echo "$A|$B|$C"']);
    expect([got.status, got.stdout]).toEqual([0, "over|two words|local\n"]);
    const pty = cli(env, ["pty", "w", "-d", "--dotenv", join(dir, "base.env"), "--", "sh", "-c", 'echo "B is $B"; sleep 30']).stdout.trim();
    expect(cli(env, ["pty", "read", pty, "--until", "B is two words"]).status).toBe(0);
    const missing = cli(env, ["exec", "w", "--dotenv", join(dir, "nope.env"), "--", "true"]);
    expect([missing.status, missing.stderr]).toEqual([2, expect.stringMatching(/^tether: cannot read --dotenv .*nope\.env: ENOENT/)]);
    // docker's spelling (which Node 20 reads itself, wherever it stands: here the file is there).
    const docker = cli(env, ["exec", "w", "--env-file", join(dir, "base.env"), "--", "true"]);
    expect([docker.status, docker.stderr]).toEqual([2, expect.stringContaining("unknown option --env-file: did you mean --dotenv?")]);
    cli(env, ["ws", "stop", "w"]);
    rmSync(dir, { recursive: true });
  });

  it("exec and pty -E give the command this shell's environment (a venv's PATH), as nohup and pueue add do; not tether's own variables nor the shell's PWD; --env over it; without -E, the daemon's", () => {
    const env = freshEnv();
    cli(env, ["ws", "create", "w"]);
    const shell = { ...env, PATH: `/opt/venv/bin:${env.PATH}`, VIRTUAL_ENV: "/opt/venv", PWD: "/somewhere", TETHER_SESSION: "s-outer", TETHER_RUN: "3" };
    const show = 'echo "${PATH%%:*}|$VIRTUAL_ENV|${TETHER_SESSION:-none}|$PWD|$TETHER_EXEC"';
    const inherited = spawnSync(process.execPath, [CLI_ENTRY, "exec", "w", "-E", "--", "sh", "-c", show], { env: shell, encoding: "utf8" });
    const [path, venv, session, pwd, exec] = inherited.stdout.trim().split("|");
    expect([inherited.status, path, venv, session, pwd === "/somewhere", exec]).toEqual([0, "/opt/venv/bin", "/opt/venv", "none", false, expect.stringMatching(/^e-\w+$/)]);
    const over = spawnSync(process.execPath, [CLI_ENTRY, "exec", "w", "--inherit-env", "--env", "VIRTUAL_ENV=/other", "--", "sh", "-c", "echo $VIRTUAL_ENV"], { env: shell, encoding: "utf8" });
    expect(over.stdout).toBe("/other\n");
    const daemons = spawnSync(process.execPath, [CLI_ENTRY, "exec", "w", "--", "sh", "-c", 'echo "${VIRTUAL_ENV:-unset}"'], { env: shell, encoding: "utf8" });
    expect(daemons.stdout).toBe("unset\n");
    const pty = spawnSync(process.execPath, [CLI_ENTRY, "pty", "w", "-d", "-E", "--", "sh", "-c", 'echo "venv is $VIRTUAL_ENV"; sleep 30'], { env: shell, encoding: "utf8" }).stdout.trim();
    expect(cli(env, ["pty", "read", pty, "--until", "venv is /opt/venv"]).status).toBe(0);
    cli(env, ["ws", "stop", "w"]);
  });

  it("exec --rm removes the exec and its output once it has ended, as docker run --rm; with -d it is refused", () => {
    const env = freshEnv();
    cli(env, ["ws", "create", "w"]);
    const kept = cli(env, ["exec", "w", "--", "true"]);
    expect(kept.status).toBe(0);
    const removed = cli(env, ["exec", "w", "--rm", "--", "sh", "-c", "echo gone; echo err >&2; exit 3"]);
    expect([removed.status, removed.stdout, removed.stderr]).toEqual([3, "gone\n", "err\n"]);
    const listed = JSON.parse(cli(env, ["exec", "ls", "--json"]).stdout) as { argv: string[] }[];
    expect(listed.map((e) => e.argv)).toEqual([["true"]]);
    const refused = cli(env, ["exec", "w", "--rm", "-d", "--", "true"]);
    expect([refused.status, refused.stderr]).toEqual([2, "tether: --rm removes the exec once this command sees it end, and -d does not wait for the end: drop -d or --rm (tether exec rm E removes an ended exec)\n"]);
  });

  it("exec -d -i keeps stdin open for exec send (words, --line, - from stdin, --close), as pueue send; exec -d alone has none", () => {
    const env = freshEnv();
    cli(env, ["ws", "create", "w"]);
    const id = cli(env, ["exec", "w", "-d", "-i", "--", "sh", "-c", 'while read l; do echo "got $l"; done; echo eof; exit 3']).stdout.trim();
    expect(id).toMatch(/^e-\w+$/);
    expect(cli(env, ["exec", "send", id, "--line", "hello", "world"]).status).toBe(0);
    expect(cli(env, ["exec", "send", id, "-"], "piped 1\npiped 2\n").status).toBe(0);
    expect(cli(env, ["exec", "send", id, "--close"]).status).toBe(0);
    const attached = cli(env, ["exec", "attach", id]);
    expect([attached.status, attached.stdout]).toEqual([3, "got hello world\ngot piped 1\ngot piped 2\neof\n"]);

    // More than one call carries (1 MiB): sent in pieces, in order.
    const counter = cli(env, ["exec", "w", "-d", "-i", "--", "sha256sum"]).stdout.trim();
    const big = "0123456789abcdef".repeat(160_000);
    expect(cli(env, ["exec", "send", counter, "--close", "-"], big).status).toBe(0);
    const sum = spawnSync("sha256sum", { input: big, encoding: "utf8" }).stdout;
    expect(cli(env, ["exec", "attach", counter]).stdout).toBe(sum);

    const closed = cli(env, ["exec", "w", "-d", "--", "sleep", "60"]).stdout.trim();
    const refused = cli(env, ["exec", "send", closed, "x"]);
    expect([refused.status, refused.stderr]).toEqual([1, `tether: exec ${closed}'s stdin is closed (or it was started without one, as exec -d is unless -i): nothing more can be written to it\n`]);
    expect(cli(env, ["exec", "send", closed]).status).toBe(2);
    cli(env, ["exec", "kill", closed, "--signal", "KILL"]);
  });

  it("a daemon stopped under an exec, its follower, a PTY's client and a session's says to each what became of what it followed", async () => {
    const env = freshEnv();
    cli(env, ["ws", "create", "w"]);
    const following = (args: string[]): Promise<{ status: number | null; stderr: string }> => {
      const child = spawn(process.execPath, [CLI_ENTRY, ...args], { env, stdio: ["pipe", "ignore", "pipe"] });
      let stderr = "";
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      return new Promise((resolve) => child.once("close", (status) => resolve({ status, stderr })));
    };
    const ran = following(["exec", "w", "--", "sh", "-c", "echo before; sleep 60"]);
    const id = await eventually(() => (JSON.parse(cli(env, ["exec", "ls", "w", "--json"]).stdout) as { id: string }[])[0]?.id);
    const followed = following(["exec", "attach", id]);
    const typed = following(["pty", "w", "--", "sleep", "60"]);
    const pty = await eventually(() => (JSON.parse(cli(env, ["pty", "ls", "w", "--json"]).stdout) as { id: string; clients: unknown[] }[])[0]?.id);
    const session = cli(env, ["run", "hold", "-d", "--file", writeTaskFile("tasks:\n  hold: { cmd: sleep 60 }\n")]).stdout.trim();
    const attached = following(["attach", session]);
    // Every one of them in its call (and this status call in its own).
    await eventually(() => (JSON.parse(cli(env, ["daemon", "status", "--json"]).stdout).calls_in_progress >= 5 ? true : undefined));
    expect(cli(env, ["daemon", "stop"]).status).toBe(0);
    const answers = await Promise.all([ran, followed, typed, attached]);
    expect(answers.map((a) => a.status)).toEqual([1, 1, 1, 1]);
    expect(answers[0]!.stderr).toContain(`tether: the daemon was stopped while exec ${id} ran, which ended with it (recorded lost); what it printed stays readable: tether exec attach ${id}`);
    expect(answers[1]!.stderr).toContain(`tether: the daemon was stopped while this command followed exec ${id}, which ended with it if it still ran (recorded lost)`);
    expect(answers[2]!.stderr).toContain(`tether: the daemon was stopped while this command was attached to pty ${pty}, which ended with it (recorded lost: a PTY does not outlive its daemon)`);
    expect(answers[3]!.stderr).toContain(`tether: the daemon was stopped while this command was attached to session ${session}: tether show ${session} says what became of it`);
  });

  it("exec --queue runs a queue's jobs one at a time, as pueue add: -d prints the id at once, the foreground one waits its turn and then is any exec (Ctrl-C while it waits leaves it queued); exec queue lists and sets the limit; exec stop takes one out", async () => {
    const env = freshEnv();
    cli(env, ["ws", "create", "w"]);
    const holder = cli(env, ["exec", "w", "-d", "--queue", "ci", "--", "sh", "-c", "sleep 60"]).stdout.trim();
    const next = cli(env, ["exec", "w", "-d", "--queue", "ci", "--name", "next", "--", "sh", "-c", "echo second"]);
    expect(next).toMatchObject({ status: 0, stdout: expect.stringMatching(/^e-\w+\n$/), stderr: "" });
    expect(cli(env, ["exec", "ls", "w"]).stdout).toMatch(/next\s+w\s+queued in ci\s+sh -c 'echo second'/);
    expect(cli(env, ["exec", "queue"]).stdout).toMatch(/^QUEUE\s+PARALLEL\s+STATE\s+RUNNING\s+QUEUED\nci\s+1\s+active\s+1\s+1\n$/);
    expect(cli(env, ["ws", "show", "w"]).stdout).toMatch(/\nqueued execs:\nEXEC\s+NAME\s+WAITS\s+COMMAND\ne-\w+\s+next\s+in ci\s+sh -c 'echo second'\n/);
    expect(cli(env, ["exec", "send", "next", "hi"])).toMatchObject({ status: 1, stderr: expect.stringMatching(/has not started: it waits in queue ci \(0 before it\)/) });

    // The foreground one says it is queued; Ctrl-C detaches, and it stays queued.
    const child = spawn(process.execPath, [CLI_ENTRY, "exec", "w", "--queue", "ci", "--", "sh", "-c", "echo third; exit 5"], { env, stdio: ["ignore", "pipe", "pipe"] });
    let err = "";
    child.stderr.on("data", (chunk: Buffer) => (err += chunk.toString()));
    await eventually(() => (err.includes("Ctrl-C leaves it queued") ? true : undefined));
    child.kill("SIGINT");
    expect(await new Promise<number | null>((resolve) => child.once("close", resolve))).toBe(130);
    const third = /exec (e-\w+) is queued in ci/.exec(err)![1]!;
    expect(err).toContain(`tether: exec ${third} stays queued. Follow it: tether exec attach ${third}   take it out: tether exec stop ${third}`);
    expect(JSON.parse(cli(env, ["exec", "show", third, "--json"]).stdout)).toMatchObject({ status: "queued", queue: "ci", started_at: null, exit_code: null });

    // Taken out, it never runs; wait says so and exits 1.
    expect(cli(env, ["exec", "stop", third])).toEqual({ status: 0, stdout: `${third}: cancelled: stopped while queued in ci (tether exec stop): it never ran\n`, stderr: "" });
    expect(cli(env, ["exec", "wait", third]).status).toBe(1);
    // A larger limit starts the waiting one at once; a foreground one then runs as any exec.
    expect(cli(env, ["exec", "queue", "ci", "--parallel", "3"]).stdout).toMatch(/^QUEUE\s+PARALLEL\s+STATE\s+RUNNING\s+QUEUED\nci\s+3\s+active\s+[12]\s+0\n$/);
    expect(cli(env, ["exec", "wait", "next"]).stdout).toMatch(/^e-\w+ \(next\): exited 0\n$/);
    expect(cli(env, ["exec", "attach", "next"]).stdout).toBe("second\n");
    expect(cli(env, ["exec", "w", "--queue", "ci", "--", "sh", "-c", "echo fourth; exit 5"])).toEqual({ status: 5, stdout: "fourth\n", stderr: "" });
    expect(cli(env, ["exec", "show", "next"]).stdout).toMatch(/\nqueue +ci\n.*\nqueued +\d{4}-.*\nstarted +\d{4}-/s);
    expect(cli(env, ["exec", "queue", "ci", "--parallel", "0"])).toMatchObject({ status: 2, stderr: 'tether: --parallel takes how many of the queue\'s execs run at once, a whole number from 1, got "0"\n' });
    expect(cli(env, ["exec", "queue", "ci", "--parallel", "1001"])).toMatchObject({ status: 1, stderr: "tether: parallel is 1001: a queue runs 1 to 1000 of its execs at once\n" });
    expect(JSON.parse(cli(env, ["exec", "queue", "ci", "--pause", "--json"]).stdout)).toEqual([{ name: "ci", parallel: 3, paused: true, running: 1, queued: 0 }]);
    expect(cli(env, ["exec", "queue", "ci", "--reset"]).stdout).toMatch(/\nci\s+1\s+active\s+1\s+0\n$/);
    // pueue's words for its groups: said as tether's.
    expect(cli(env, ["exec", "parallel", "ci", "2"]).stderr).toMatch(/or did you mean tether exec queue\?\n$/);
    expect(cli(env, ["exec", "w", "--queue", "ci", "--restart", "always", "--", "true"]).stderr).toMatch(/give it those or a restart policy, not both/);
    cli(env, ["exec", "stop", holder]);
  });

  it("--queue Q selects a queue's execs as pueue's --group does: exec ls lists them (with a --priority), exec wait waits for each, exec kill signals the running ones and cancels the waiting ones", () => {
    const env = freshEnv();
    cli(env, ["ws", "create", "w"]);
    const other = cli(env, ["exec", "w", "-d", "--queue", "other", "--", "sleep", "60"]).stdout.trim();
    const a = cli(env, ["exec", "w", "-d", "--queue", "gpu", "--", "sh", "-c", "sleep 2; exit 3"]).stdout.trim();
    const b = cli(env, ["exec", "w", "-d", "--queue", "gpu", "--", "echo", "b"]).stdout.trim();
    const listed = cli(env, ["exec", "ls", "--queue", "gpu", "--json"]);
    expect((JSON.parse(listed.stdout) as { id: string; status: string }[]).map((e) => [e.id, e.status])).toEqual([
      [b, "queued"],
      [a, "running"],
    ]);
    // Each as it ends, and the first that failed gives the exit code.
    const waited = cli(env, ["exec", "wait", "--queue", "gpu"]);
    expect(waited.status).toBe(3);
    expect(waited.stdout.split("\n").sort()).toEqual(["", `${a}: exited 3`, `${b}: exited 0`].sort());
    expect(cli(env, ["exec", "wait", "--queue", "gpu"])).toEqual({ status: 0, stdout: "", stderr: "no exec runs or waits in queue gpu\n" });
    // Ended ones stay listed in their queue.
    expect(cli(env, ["exec", "ls", "--queue", "gpu"]).stdout.trim().split("\n")).toHaveLength(3);

    const running = cli(env, ["exec", "w", "-d", "--queue", "gpu", "--", "sleep", "60"]).stdout.trim();
    // exec start: a queued one now, as pueue start.
    const now = cli(env, ["exec", "w", "-d", "--queue", "gpu", "--", "echo", "now"]).stdout.trim();
    expect(cli(env, ["exec", "start", now])).toMatchObject({ status: 0, stdout: expect.stringMatching(new RegExp(`^started ${now} \\(pid \\d+\\)\n$`)) });
    expect(cli(env, ["exec", "wait", now])).toMatchObject({ status: 0 });
    expect(cli(env, ["exec", "start", now])).toMatchObject({ status: 1, stderr: `tether: exec ${now} is not queued: it has ended (exited): tether exec restart ${now} starts its command again\n` });
    const waiting = cli(env, ["exec", "w", "-d", "--queue", "gpu", "--priority", "7", "--", "touch", "never"]).stdout.trim();
    // --priority, as pueue add --priority: exec ls and show say it.
    expect(cli(env, ["exec", "ls", "--queue", "gpu"]).stdout).toMatch(new RegExp(`^${waiting}\\s+w\\s+queued in gpu \\(priority 7\\)\\s`, "m"));
    expect(JSON.parse(cli(env, ["exec", "show", waiting, "--json"]).stdout)).toMatchObject({ queue: "gpu", priority: 7 });
    expect(cli(env, ["exec", "w", "--priority", "x", "--queue", "gpu", "--", "true"])).toMatchObject({ status: 2, stderr: 'tether: --priority takes a whole number, negative too (-5, 0, 10), got "x"\n' });
    expect(cli(env, ["exec", "kill", "--queue", "gpu"])).toEqual({ status: 0, stdout: `sent SIGTERM to ${waiting}\nsent SIGTERM to ${running}\n`, stderr: "" });
    expect(cli(env, ["exec", "wait", running, waiting])).toMatchObject({ status: 143, stdout: `${running}: signalled SIGTERM (143)\n${waiting}: cancelled: stopped while queued in gpu (tether exec kill): it never ran\n` });
    expect(JSON.parse(cli(env, ["exec", "show", other, "--json"]).stdout)).toMatchObject({ status: "running" });
    expect(cli(env, ["exec", "ls", "--queue", "no such"])).toMatchObject({ status: 1, stderr: expect.stringContaining('queue name "no such" is not one') });
    expect(cli(env, ["exec", "kill", other, "--queue", "gpu"])).toMatchObject({ status: 2 });
    cli(env, ["exec", "stop", "--queue", "other"]);
  });

  it("exec --delay and --at start a command no sooner than that, as pueue add --delay: queued until then (exec ls and show say until when), then any exec; kill takes it out", () => {
    const env = freshEnv();
    cli(env, ["ws", "create", "w"]);
    const id = cli(env, ["exec", "w", "-d", "--delay", "2s", "--", "sh", "-c", "date +%s%3N"]).stdout.trim();
    const asked = Date.now();
    expect(cli(env, ["exec", "ls", "w"]).stdout).toMatch(new RegExp(`${id}\\s+w\\s+queued until (\\d{2}:){2}\\d{2}\\s+sh -c 'date \\+%s%3N'`));
    const shown = JSON.parse(cli(env, ["exec", "show", id, "--json"]).stdout) as { status: string; start_at: string };
    expect(shown.status).toBe("queued");
    expect(Date.parse(shown.start_at)).toBeGreaterThan(asked);
    expect(cli(env, ["exec", "show", id]).stdout).toMatch(/\nstatus +queued until [\d:]+\nstart at +\d{4}-\d{2}-\d{2}T.*\nqueued +\d{4}-/s);
    expect(cli(env, ["exec", "wait", id])).toMatchObject({ status: 0, stdout: `${id}: exited 0\n` });
    expect(Number(cli(env, ["exec", "attach", id]).stdout)).toBeGreaterThanOrEqual(Date.parse(shown.start_at));

    // The foreground one says until when, and is any exec once it runs.
    const waited = cli(env, ["exec", "w", "--delay", "1s", "--", "sh", "-c", "echo ran; exit 4"]);
    expect(waited).toMatchObject({ status: 4, stdout: "ran\n", stderr: expect.stringMatching(/^tether: exec e-\w+ is queued until [\d:]+: it starts then; Ctrl-C leaves it queued\n$/) });
    const never = cli(env, ["exec", "w", "-d", "--at", "2099-01-01T00:00", "--", "touch", "never"]);
    expect(never).toMatchObject({ status: 1, stderr: expect.stringContaining("an exec starts at most a year from now") });
    const tomorrow = cli(env, ["exec", "w", "-d", "--delay", "20h", "--name", "nightly", "--", "touch", "never"]).stdout.trim();
    // A queued exec holds its name: -A goes on with it, another start of the name is refused saying so.
    expect(cli(env, ["exec", "w", "-d", "-A", "--name", "nightly", "--", "touch", "never"])).toEqual({ status: 0, stdout: `${tomorrow}\n`, stderr: "" });
    expect(cli(env, ["exec", "w", "-d", "--name", "nightly", "--", "true"]).stderr).toContain(`exec ${tomorrow} is queued with the name nightly`);
    expect(cli(env, ["exec", "kill", tomorrow])).toMatchObject({ status: 0 });
    expect(cli(env, ["exec", "wait", tomorrow])).toMatchObject({ status: 1, stdout: `${tomorrow} (nightly): cancelled: stopped while queued (tether exec kill): it never ran\n` });
    expect(cli(env, ["exec", "w", "--delay", "1s", "--at", "03:00", "--", "true"])).toMatchObject({ status: 2, stderr: "tether: --delay and --at both say when it starts: give one of them\n" });
    // A task graph at a time: the exec runs the daemon's own CLI, found on its PATH.
    const root = (JSON.parse(cli(env, ["ws", "show", "w", "--json"]).stdout) as { root: string }).root;
    writeFileSync(join(root, "tether.yaml"), "tasks:\n  nightly:\n    cmd: echo nightly ran\n");
    const starter = cli(env, ["exec", "w", "-d", "--delay", "1s", "--", "tether", "run", "nightly"]).stdout.trim();
    expect(cli(env, ["exec", "wait", starter])).toMatchObject({ status: 0 });
    expect(cli(env, ["exec", "attach", starter]).stdout).toContain("nightly ran");
    expect(cli(env, ["ls", "--json"]).stdout).toContain('"task":"nightly"');
    expect(cli(env, ["exec", "w", "--at", "tomorrow", "--", "true"])).toMatchObject({ status: 2, stderr: expect.stringContaining("--at takes a time of day (03:00, 14:30:15: the next one to come)") });
  });

  it("tether events prints the daemon's changes as docker events does: followed until Ctrl-C, or the kept ones with --no-follow; --json and --type", async () => {
    const env = freshEnv();
    cli(env, ["ws", "create", "w"]);
    // From a minute ago: the kept events first, so the exec is in it whenever the watch begins.
    const follower = spawn(process.execPath, [CLI_ENTRY, "events", "--type", "exec", "--since", "1m"], { env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    follower.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    const ended = new Promise<number | null>((resolve) => follower.once("exit", (code) => resolve(code)));
    const id = cli(env, ["exec", "w", "-d", "--name", "job", "--label", "team=ci", "--", "sh", "-c", "exit 5"]).stdout.trim();
    await eventually(() => (out.includes(`exec end ${id}`) ? true : undefined));
    follower.kill("SIGINT");
    expect(await ended).toBe(130);
    const lines = out.trim().split("\n");
    expect(lines[0]).toMatch(new RegExp(`^\\d{4}-\\d{2}-\\d{2}T[\\d:.]+Z exec start ${id} \\(name=job, pid=\\d+, status=running, workspace=w-\\w+\\) \\{team=ci\\}$`));
    expect(lines[1]).toMatch(new RegExp(`^\\S+ exec end ${id} \\(exit_code=5, name=job, status=exited, workspace=w-\\w+\\) \\{team=ci\\}$`));
    expect(cli(env, ["events", "--since", "1m", "--no-follow", "--label", "team=ci"]).stdout.trim().split("\n")).toHaveLength(2);
    expect(cli(env, ["events", "--since", "1m", "--no-follow", "-l", "team=cd"]).stdout).toBe("");
    // --id takes a name too (an exec's, a PTY's, a workspace's).
    expect(cli(env, ["events", "--since", "1m", "--no-follow", "--id", "job"]).stdout.trim().split("\n").map((line) => line.split(" ").slice(1, 4).join(" "))).toEqual([`exec start ${id}`, `exec end ${id}`]);

    const kept = cli(env, ["events", "--since", "1m", "--no-follow", "--json"]);
    expect(kept.status).toBe(0);
    const events = kept.stdout.trim().split("\n").map((line) => JSON.parse(line) as { sequence: number; type: string; action: string; id: string });
    expect(events.map((e) => [e.type, e.action])).toEqual([["workspace", "create"], ["exec", "start"], ["exec", "end"]]);
    expect(events.map((e) => e.sequence)).toEqual([1, 2, 3]);
    expect(cli(env, ["events", "--after", "2", "--no-follow"]).stdout).toMatch(new RegExp(`^\\S+ exec end ${id} `));
    expect(cli(env, ["events", "--no-follow"])).toMatchObject({ status: 2, stderr: expect.stringContaining("--no-follow prints the events kept from a time (--since) or after a sequence (--after)") });
    expect(cli(env, ["events", "--type", "box", "--no-follow", "--since", "1m"])).toMatchObject({ status: 1, stderr: 'tether: "box" is no event type: the types are session, exec, pty, workspace\n' });
  });

  it("exec --after E runs a command once E has ended with exit 0, as pueue add --after (several: --after a --after b, or a,b); one whose predecessor failed never runs, and exec wait says why", () => {
    const env = freshEnv();
    cli(env, ["ws", "create", "w"]);
    // The build ends once the test lets it (a file), however slow the machine is meanwhile.
    cli(env, ["exec", "w", "-d", "--name", "build", "--", "sh", "-c", "while [ ! -f go ]; do sleep 0.05; done; echo built > out"]);
    const failed = cli(env, ["exec", "w", "-d", "--", "sh", "-c", "exit 2"]).stdout.trim();
    const deploy = cli(env, ["exec", "w", "-d", "--after", "build", "--", "sh", "-c", "cat out"]).stdout.trim();
    expect(cli(env, ["exec", "ls", "w"]).stdout).toMatch(new RegExp(`${deploy}\\s+w\\s+queued after e-\\w+\\s+sh -c 'cat out'`));
    cli(env, ["exec", "w", "--", "touch", "go"]);
    expect(cli(env, ["exec", "w", "--after", `${deploy},build`, "--", "echo", "then this"])).toMatchObject({ status: 0, stdout: "then this\n" });
    expect(cli(env, ["exec", "attach", deploy]).stdout).toBe("built\n");
    const never = cli(env, ["exec", "w", "-d", "--after", deploy, "--after", failed, "--", "touch", "never"]).stdout.trim();
    expect(cli(env, ["exec", "wait", never])).toEqual({ status: 1, stdout: `${never}: cancelled: exec ${failed}, which it was to start after, exited 2: it never ran\n`, stderr: "" });
    expect(JSON.parse(cli(env, ["exec", "show", never, "--json"]).stdout)).toMatchObject({ status: "cancelled", after: [expect.stringMatching(/^e-/), failed], exit_code: null });
  });

  it("on a terminal, exec -t --queue waits its turn in cooked mode (Ctrl-C detaches, leaving it queued), then runs under a terminal as exec -t does", async () => {
    const { env, tether, tmux, waitFor } = terminals();
    cli(env, ["ws", "create", "w"]);
    const holder = cli(env, ["exec", "w", "-d", "--queue", "tq", "--", "sleep", "60"]).stdout.trim();
    const command = `${tether} exec w -t --queue tq -- sh -c 'test -t 0 && echo tty; read x; echo "got $x"'; echo "rc=$?"; sleep 60`;
    tmux("new-session", "-d", "-s", "first", "-x", "120", "-y", "20", command);
    await waitFor("first", "Ctrl-C leaves it queued");
    tmux("send-keys", "-t", "first", "C-c");
    const detached = await waitFor("first", "rc=130");
    const left = /exec (e-\w+) stays queued\./.exec(detached)![1]!;
    cli(env, ["exec", "stop", left]);

    tmux("new-session", "-d", "-s", "second", "-x", "120", "-y", "20", command);
    await waitFor("second", "Ctrl-C leaves it queued");
    cli(env, ["exec", "stop", holder]);
    await waitFor("second", "tty");
    tmux("send-keys", "-t", "second", "hello", "Enter");
    await waitFor("second", /got hello\s+rc=0/);
  });

  it("exec --ready-http/--ready-tcp/--ready-cmd say when a dev server is ready: exec ls (starting), (ready), (not ready), exec show, exec wait --ready as compose up --wait", async () => {
    const env = freshEnv();
    const root = cli(env, ["ws", "create", "w"]).stdout.trim().split(" ")[2]!;
    const [port, closed] = await freePorts(2);
    // The server listens once the test lets it (a file in the workspace), however slow the machine is meanwhile.
    const serve = `const go = () => require("node:fs").existsSync("go") ? require("node:http").createServer((q, r) => r.end("ok")).listen(${port}, "127.0.0.1") : setTimeout(go, 50); go()`;
    const web = cli(env, ["exec", "w", "-d", "--name", "web", "--ready-http", `http://127.0.0.1:${port}/`, "--ready-interval", "200ms", "--", process.execPath, "-e", serve]).stdout.trim();
    expect(cli(env, ["exec", "ls"]).stdout).toMatch(new RegExp(`^${web}\\s+web\\s+w\\s+running \\(starting\\)\\s`, "m"));
    writeFileSync(join(root, "go"), "");
    expect(cli(env, ["exec", "wait", "web", "--ready"])).toMatchObject({ status: 0, stdout: expect.stringMatching(new RegExp(`^${web} \\(web\\) ready \\d+(\\.\\d+)?m?s after its start\\n$`)) });
    expect(cli(env, ["exec", "ls"]).stdout).toMatch(new RegExp(`^${web}\\s+web\\s+w\\s+running \\(ready\\)\\s`, "m"));
    expect(cli(env, ["ws", "show", "w"]).stdout).toMatch(new RegExp(`EXEC\\s+NAME\\s+PID\\s+READY\\s+STARTED\\s+COMMAND\\n${web}\\s+web\\s+\\d+\\s+ready\\s`));
    expect(cli(env, ["exec", "show", "web"]).stdout).toMatch(new RegExp(`^readiness   http://127.0.0.1:${port}/ \\(every 200ms, for up to 1m; once ready, every 30s\\): ready \\S+ after its start$`, "m"));

    cli(env, ["exec", "w", "-d", "--name", "db", "--ready-tcp", `127.0.0.1:${closed}`, "--ready-cmd", "true", "--ready-timeout", "600ms", "--ready-interval", "100ms", "--", "sleep", "60"]);
    const notReady = cli(env, ["exec", "wait", "db", "--ready"]);
    expect(notReady).toMatchObject({ status: 1, stderr: expect.stringMatching(new RegExp(`^tether: exec e-\\w+ is not ready after 600ms: tcp 127.0.0.1:${closed}: ECONNREFUSED; it runs on`)) });
    expect(cli(env, ["exec", "ls"]).stdout).toMatch(/\sdb\s+w\s+running \(not ready\)\s/);
    expect(JSON.parse(cli(env, ["exec", "show", "db", "--json"]).stdout)).toMatchObject({ readiness: { tcp: `127.0.0.1:${closed}`, cmd: "true", http: null, interval_ms: 100, timeout_ms: 600 }, ready_at: null, readiness_error: expect.stringContaining("ECONNREFUSED") });
    expect(cli(env, ["exec", "wait", "web", "--ready", "--json"]).stdout).toContain('"ready_at":"');

    expect(cli(env, ["exec", "w", "--ready-timeout", "5s", "--", "true"])).toMatchObject({ status: 2, stderr: "tether: --ready-timeout goes with a check to make: --ready-http URL, --ready-tcp HOST:PORT or --ready-cmd CMD\n" });
    expect(cli(env, ["exec", "w", "--ready-tcp", "5432", "--", "true"])).toMatchObject({ status: 1, stderr: expect.stringContaining('readiness.tcp must be host:port, got "5432"') });
    expect(cli(env, ["exec", "wait", "web", "db", "--ready"]).status).toBe(1);
    cli(env, ["exec", "stop", "web", "db"]);
  });

  it("exec pause stops a running exec where it is and exec resume lets it go on, as pueue pause and start: exec ls says (paused); a paused one stops at once; a queued one is not cancelled by a pause", async () => {
    const env = freshEnv();
    cli(env, ["ws", "create", "w"]);
    const id = cli(env, ["exec", "w", "-d", "--label", "job=count", "--", "sh", "-c", "i=0; while true; i=$((i+1)); do echo $i; sleep 0.05; done"]).stdout.trim();
    const bytes = (): number => (JSON.parse(cli(env, ["exec", "show", id, "--json"]).stdout) as { stdout_bytes: number }).stdout_bytes;
    await eventually(() => (bytes() > 0 ? true : undefined));
    expect(cli(env, ["exec", "pause", id])).toEqual({ status: 0, stdout: `paused ${id}\n`, stderr: "" });
    expect(cli(env, ["exec", "ls", "w"]).stdout).toMatch(new RegExp(`${id}\\s+w\\s+running \\(paused\\)`));
    expect(cli(env, ["exec", "show", id]).stdout).toMatch(new RegExp(`status {6}running \\(pid \\d+, paused: tether exec resume ${id}\\)`));
    expect(JSON.parse(cli(env, ["exec", "show", id, "--json"]).stdout)).toMatchObject({ status: "running", paused: true });
    expect(cli(env, ["ws", "show", "w"]).stdout).toMatch(new RegExp(`${id}\\s+\\d+ \\(paused\\)`));
    const held = bytes();
    await new Promise((r) => setTimeout(r, 500));
    expect(bytes()).toBe(held);
    // By its labels, as a group: it goes on from where it was.
    expect(cli(env, ["exec", "resume", "--label", "job=count"]).stdout).toBe(`resumed ${id}\n`);
    await eventually(() => (bytes() > held ? true : undefined));
    expect(JSON.parse(cli(env, ["exec", "show", id, "--json"]).stdout)).toMatchObject({ paused: false });
    // Stopped while paused, it takes SIGTERM at once (SIGCONT first), not SIGKILL after the grace.
    cli(env, ["exec", "pause", id]);
    const t0 = Date.now();
    expect(cli(env, ["exec", "stop", id, "--grace", "20s"]).stdout).toBe(`${id}: signalled SIGTERM (143)\n`);
    expect(Date.now() - t0).toBeLessThan(15_000);
    // A queued exec is not started or cancelled by a pause: refused, it waits on.
    const queued = cli(env, ["exec", "w", "-d", "--delay", "1h", "--", "true"]).stdout.trim();
    const refused = cli(env, ["exec", "pause", queued]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(new RegExp(`^tether: exec ${queued} has not started: it waits until `));
    expect(JSON.parse(cli(env, ["exec", "show", queued, "--json"]).stdout)).toMatchObject({ status: "queued" });
    expect(cli(env, ["exec", "pause"]).status).toBe(2);
    cli(env, ["exec", "kill", queued]);
  });

  it("an exec the daemon lost (kill -9) shows no exit code, and what it wrote", async () => {
    const env = freshEnv();
    cli(env, ["ws", "create", "w"]);
    const id = cli(env, ["exec", "w", "-d", "--", "sh", "-c", "echo before; sleep 60"]).stdout.trim();
    await eventually(() => (cli(env, ["exec", "attach", id, "--no-follow"]).stdout === "before\n" ? true : undefined));
    const pid = Number(/pid:\s+(\d+)/.exec(cli(env, ["daemon", "status"]).stdout)?.[1]);
    process.kill(pid, "SIGKILL");
    await eventually(() => (cli(env, ["daemon", "status"]).status === 1 ? true : undefined));
    expect(JSON.parse(cli(env, ["exec", "show", id, "--json"]).stdout)).toMatchObject({ status: "lost", exit_code: null, stdout_bytes: 7 });
    expect(cli(env, ["exec", "ls", "w"]).stdout).toMatch(new RegExp(`${id}\\s+w\\s+lost\\s+-\\s+`));
    expect(cli(env, ["exec", "show", id]).stdout).toMatch(/status {6}lost: the daemon was not running/);
  });
});
