import { execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { describe, expect, it } from "vitest";
import { CLI_ENTRY, cliEnvPerTest } from "../helpers/daemon.js";
import { eventually, writeTaskFile } from "../helpers/sessions.js";
import { terminalsPerTest } from "../helpers/terminals.js";
import { freePorts } from "../helpers/ports.js";
import { dirname, join } from "node:path";

const freshEnv = cliEnvPerTest({ NO_COLOR: "1" });
const terminals = terminalsPerTest();

function cli(env: NodeJS.ProcessEnv, cwd: string, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI_ENTRY, ...args], { env, cwd, encoding: "utf8", timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const GRAPH = `
tasks:
  gen:
    cmd: |
      echo generated
      true
  check:
    cmd: echo "checking {{ inputs.level }}"; exit {{ inputs.code }}
    upstream: [gen]
    inputs:
      level: { type: choice, choices: [quick, full], default: quick }
      code: { type: int, default: "0" }
`;

/** Task file text: a task serve whose http server answers on `port` 700 ms after it starts, ready then. */
function serveAfter700ms(port: number): string {
  return `  serve:
    cmd: [${JSON.stringify(process.execPath)}, -e, 'setTimeout(() => require("node:http").createServer((q, r) => r.end("ok")).listen(${port}, "127.0.0.1"), 700)']
    readiness: { http: "http://127.0.0.1:${port}/", interval: 100ms }
`;
}

describe("tether run, ls, show, logs (the built CLI)", () => {
  it("follows a run with task-prefixed output and plain progress lines, and exits with the main task's code", () => {
    const env = freshEnv();
    const dir = dirname(writeTaskFile(GRAPH));
    const ok = cli(env, dir, "run", "check", "--input", "level=full");
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/gen +\| generated/);
    expect(ok.stdout).toMatch(/check +\| checking full/);
    // How long each took, to the tenth of a second: a graph's tasks mostly take less than one.
    expect(ok.stderr).toMatch(/check +succeeded +\d\.\ds /);
    const failed = cli(env, dir, "run", "check", "--input", "code=7");
    expect(failed.status).toBe(7);
    expect(failed.stderr).toMatch(/check +failed .*exited with code 7/);
    // A run that waited counts from its start, not from when it ran again.
    const waited = cli(env, dirname(writeTaskFile("tasks:\n  patient:\n    cmd: tether wait inbox --timeout 1s; true\n    streams: { inbox: input }\n")), "run", "patient");
    expect(waited.stderr).toMatch(/patient +waiting +\d+\.\ds +waiting for input on inbox\n.*patient +running +[1-9]\d*\.\ds\n/s);
    expect(waited.stderr).toMatch(/patient +succeeded +[1-9]\d*\.\ds /);
    const bad = cli(env, dir, "run", "check", "--input", "level=slow");
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('input level: "slow" is not one of quick, full');
  });

  it("init writes a starter tether.yaml that runs (its default task), never over one; its commented tasks are valid once uncommented; a command finding none points to it", () => {
    const env = freshEnv();
    const dir = mkdtempSync(join(tmpdir(), "tether-init-"));
    expect(cli(env, dir, "run").stderr).toBe(`tether: no tether.yaml in ${dir} or any directory above it: create one (tether init writes a starter), or name it with --file\n`);
    expect(cli(env, dir, "init")).toEqual({ status: 0, stdout: `wrote ${join(dir, "tether.yaml")}: tether run runs its default task, tether tasks lists them\n`, stderr: "" });
    const ran = cli(env, dir, "run");
    expect([ran.status, ran.stdout]).toEqual([0, expect.stringMatching(/default +\| hello from tether\n/)]);
    const again = cli(env, dir, "init");
    expect([again.status, again.stderr]).toEqual([1, `tether: ${join(dir, "tether.yaml")} exists already: tether tasks lists its tasks (init writes only a new file)\n`]);
    // What it shows commented is a task file too.
    const uncommented = readFileSync(join(dir, "tether.yaml"), "utf8").replace(/^ {2}# {3}/gm, "    ").replace(/^ {2}# /gm, "  ");
    writeFileSync(join(dir, "full.yaml"), uncommented);
    const tasks = JSON.parse(cli(env, dir, "tasks", "--file", "full.yaml", "--json").stdout) as { name: string }[];
    expect(tasks.map((t) => t.name)).toEqual(["default", "build", "serve", "test", "lint", "compat:3.11", "compat:3.12", "compat", "cleanup", "ci", "review"].map((name) => `tasks/${name}`));
  });

  it("with no task named, runs the one named default, as Taskfile's task does; a file without one is named with its tasks", () => {
    const env = freshEnv();
    const dir = dirname(writeTaskFile(GRAPH));
    const none = cli(env, dir, "run");
    expect([none.status, none.stderr]).toEqual([2, `tether: which task? ${join(dir, "tether.yaml")} has gen, check: tether run TASK (a task named default runs when none is named)\n`]);
    const withDefault = dirname(writeTaskFile(`${GRAPH}  default:\n    cmd: echo "the default"\n    upstream: [gen]\n`));
    const ran = cli(env, withDefault, "run");
    expect(ran.status).toBe(0);
    expect(ran.stdout).toMatch(/gen +\| generated\ndefault +\| the default\n/);
    expect(cli(env, withDefault, "tasks").stdout).toMatch(/^default\n  cmd: echo "the default"\n  after: gen\n  what tether run runs when no task is named$/m);
  });

  it("env_file: a task's runs get the variables of its files (a later file's win, the task's env over both), read as each run starts; one that cannot be read keeps the run from starting, saying why", () => {
    const env = freshEnv();
    const file = writeTaskFile(
      `env: { D: from-the-top }\ntasks:\n  show:\n    env_file: [.env, config/local.env]\n    env: { C: from-env }\n    cmd: echo "A=$A B=$B C=$C D=$D"\n  missing:\n    env_file: nope.env\n    cmd: echo never\n  fifo:\n    env_file: pipe.env\n    cmd: echo never\n`,
    );
    const dir = dirname(file);
    writeFileSync(join(dir, ".env"), "# the project's\nA=1\nexport B=two\nC='from file'\n");
    mkdirSync(join(dir, "config"));
    writeFileSync(join(dir, "config", "local.env"), 'B="local value"\nTOKEN=never-in-the-store\n');
    const first = cli(env, dir, "run", "show");
    expect([first.status, first.stdout]).toEqual([0, "show | A=1 B=local value C=from-env D=from-the-top\n"]);
    // Edited: the next run reads it again; the recorded session holds the paths, never the values.
    writeFileSync(join(dir, ".env"), "A=2\n");
    const session = cli(env, dir, "run", "show", "-d").stdout.trim();
    expect(cli(env, dir, "attach", session, "--from", "0").stdout).toContain("show | A=2 B=local value C=from-env D=from-the-top");
    for (const db of ["tether.db", "tether.db-wal"]) expect(readFileSync(join(env["TETHER_HOME"]!, db)).includes("never-in-the-store")).toBe(false);
    const missing = cli(env, dir, "run", "missing");
    expect(missing.status).toBe(127);
    expect(missing.stderr).toContain(`missing | tether: cannot read env_file ${join(dir, "nope.env")}: it does not exist (create it, or leave it out of env_file)`);
    // A FIFO would block a read forever: refused without reading.
    execFileSync("mkfifo", [join(dir, "pipe.env")]);
    const fifo = cli(env, dir, "run", "fifo");
    expect(fifo.status).toBe(127);
    expect(fifo.stderr).toContain(`fifo | tether: env_file ${join(dir, "pipe.env")} is not a regular file\n`);
  });

  it("run --max-output keeps only the last of a session's output: its follower, held by a slow reader, reads on past what is dropped to the end; show says what is kept, logs starts there", () => {
    const env = freshEnv();
    // 48 MiB of numbered lines, each 64 bytes: three times what is kept.
    const lines = (48 * 1024 * 1024) / 64;
    const dir = dirname(writeTaskFile(`tasks:\n  flood:\n    cmd: |\n      awk 'BEGIN { for (i = 1; i <= ${lines}; i++) printf "%063d\\n", i }'\n`));
    // Followed into a pipe whose reader takes nothing until the session has ended: the follower is held (nothing piles up
    // in it), the flood and the drop of its oldest 32 MiB happen meanwhile, and it reads on from what is kept.
    const tether = `"${process.execPath}" "${CLI_ENTRY}"`;
    const script = `set -o pipefail; ${tether} run flood --max-output 16M | (until ${tether} ls --status closed | grep -q flood; do sleep 0.1; done; cat)`;
    const followed = spawnSync("bash", ["-c", script], { env, cwd: dir, encoding: "utf8", maxBuffer: 128 * 1024 * 1024, timeout: 60_000 });
    expect([followed.status, followed.stderr]).toEqual([0, expect.stringMatching(/flood +succeeded/)]);
    expect(followed.stdout.endsWith(`flood | ${String(lines).padStart(63, "0")}\n`)).toBe(true);
    expect(followed.stdout.length).toBeLessThan(lines * 72);
    const id = /session (s-\w+) closed/.exec(followed.stderr)![1]!;
    const offset = Number(/^output +keeps the last 16\.0 MiB, from offset (\d+)$/m.exec(cli(env, dir, "show", id).stdout)![1]);
    expect(offset).toBeGreaterThanOrEqual(31 * 1024 * 1024);
    const logs = spawnSync(process.execPath, [CLI_ENTRY, "logs", id], { env, cwd: dir, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
    expect(logs.stdout.length).toBe(48 * 1024 * 1024 - offset);
    // Its first whole line is the one after the offset (a chunk may start in the middle of a line).
    const skip = (64 - (offset % 64)) % 64;
    expect(logs.stdout.slice(skip, skip + 64)).toBe(`${String(Math.ceil(offset / 64) + 1).padStart(63, "0")}\n`);
    expect(JSON.parse(cli(env, dir, "show", id, "--json").stdout)).toMatchObject({ output_max_bytes: 16 * 1024 * 1024, output_first_offset: offset });
  });

  it("a followed run whose reader takes nothing holds the follower, not its memory: what it has yet to write waits in the store", async () => {
    const env = freshEnv();
    // 192 MiB of numbered lines, each 64 bytes.
    const lines = (192 * 1024 * 1024) / 64;
    const dir = dirname(writeTaskFile(`tasks:\n  flood:\n    cmd: |\n      awk 'BEGIN { for (i = 1; i <= ${lines}; i++) printf "%063d\\n", i }'\n`));
    const child = spawn(process.execPath, [CLI_ENTRY, "run", "flood"], { env, cwd: dir, stdio: ["ignore", "pipe", "ignore"] });
    const exited = new Promise<number | null>((resolve) => child.once("close", resolve));
    // Its stdout is read by no one until the session has ended: the pipe fills and the follower waits.
    await eventually(() => (cli(env, dir, "ls", "--status", "closed").stdout.includes("flood") ? true : undefined), 60_000);
    const peak = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"))![1]) * 1024;
    // A follower that kept what it could not write held 160 MB and more here; one that waits, ~85 MB.
    expect(peak).toBeLessThan(120 * 1000 * 1000);
    let tail = "";
    let bytes = 0;
    child.stdout.on("data", (chunk: Buffer) => {
      bytes += chunk.length;
      tail = (tail + chunk.toString()).slice(-200);
    });
    expect(await exited).toBe(0);
    expect(bytes).toBe(lines * 72);
    expect(tail.endsWith(`flood | ${String(lines).padStart(63, "0")}\n`)).toBe(true);
  });

  it("logs -f of a session that keeps only its last output reads on past what is dropped while it was held up, to the end", () => {
    const env = freshEnv();
    const lines = (48 * 1024 * 1024) / 64;
    const dir = dirname(writeTaskFile(`tasks:\n  flood:\n    max_output: 16M\n    cmd: |\n      echo start; sleep 1\n      awk 'BEGIN { for (i = 1; i <= ${lines}; i++) printf "%063d\\n", i }'\n`));
    const id = cli(env, dir, "run", "flood", "-d").stdout.trim();
    // A reader that takes nothing until the session has ended: the flood and the drop of its oldest 32 MiB happen meanwhile.
    const tether = `"${process.execPath}" "${CLI_ENTRY}"`;
    const slow = spawnSync("sh", ["-c", `${tether} logs -f ${id} | (until ${tether} show ${id} | grep -q '^status    closed'; do sleep 0.1; done; cat)`], { env, cwd: dir, encoding: "utf8", maxBuffer: 128 * 1024 * 1024, timeout: 60_000 });
    expect([slow.status, slow.stderr]).toEqual([0, ""]);
    expect(slow.stdout.startsWith("start\n")).toBe(true);
    expect(slow.stdout.endsWith(`${String(lines).padStart(63, "0")}\n`)).toBe(true);
    expect(slow.stdout.length).toBeLessThan(48 * 1024 * 1024);
  });

  it("run --label tags a session; ls --label finds it (k=v, or k set), show and --json say its labels; cancel and rm --ended take labels too", () => {
    const env = freshEnv();
    const dir = dirname(writeTaskFile(GRAPH));
    const tagged = cli(env, dir, "run", "gen", "-d", "--label", "conv=42", "--label", "agent=a1").stdout.trim();
    const other = cli(env, dir, "run", "gen", "-d", "--label", "conv=7").stdout.trim();
    cli(env, dir, "run", "gen", "-d");
    const listed = (...selectors: string[]): string[] => JSON.parse(cli(env, dir, "ls", "--json", ...selectors.flatMap((s) => ["--label", s])).stdout).map((s: { id: string }) => s.id);
    expect(listed("conv=42")).toEqual([tagged]);
    expect(listed("conv")).toEqual([other, tagged]);
    expect(JSON.parse(cli(env, dir, "ls", "-l", "agent", "--json").stdout)[0].labels).toEqual({ conv: "42", agent: "a1" });
    expect(cli(env, dir, "show", tagged).stdout).toMatch(/^labels +agent=a1 conv=42$/m);
    // The table has a LABELS column once some session listed has labels.
    const table = cli(env, dir, "ls").stdout;
    expect(table).toMatch(/^SESSION +TASK +STATUS +CREATED +DURATION +LABELS +OUTCOME$/m);
    expect(table).toMatch(new RegExp(`^${tagged} +gen +closed +.* agent=a1,conv=42 +exit 0$`, "m"));
    expect(cli(env, dir, "run", "gen", "--label", "conv")).toMatchObject({ status: 2, stderr: 'tether: --label takes NAME=VALUE, got "conv"\n' });
    // An agent ends and removes its own: cancel and rm --ended by label.
    const sleepy = dirname(writeTaskFile("tasks:\n  nap: { cmd: 'sleep 60' }\n"));
    const mine = [1, 2].map(() => cli(env, sleepy, "run", "nap", "-d", "--label", "agent=a9").stdout.trim());
    const theirs = cli(env, sleepy, "run", "nap", "-d", "--label", "agent=b").stdout.trim();
    const cancelled = cli(env, sleepy, "cancel", "--label", "agent=a9");
    expect(cancelled.stdout.trim().split("\n").sort()).toEqual(mine.map((id) => `${id} cancelled`).sort());
    expect(JSON.parse(cli(env, sleepy, "show", theirs, "--json").stdout).status).toBe("open");
    expect(cli(env, sleepy, "cancel", "--label", "agent=nobody")).toMatchObject({ status: 0, stderr: "no open session has the labels agent=nobody\n" });
    expect(cli(env, sleepy, "rm", "--ended", "--label", "agent=a9").status).toBe(0);
    expect(listed("agent=a9")).toEqual([]);
    expect(listed("agent")).toEqual([theirs, tagged]);
    cli(env, sleepy, "cancel", theirs);
  });

  it("colours task prefixes and statuses in a pipe when FORCE_COLOR asks (a CI's log shows colours), still as plain lines", () => {
    const dir = dirname(writeTaskFile(GRAPH));
    const forced = cli({ ...freshEnv(), FORCE_COLOR: "1" }, dir, "run", "check");
    expect(forced.status).toBe(0);
    // The prefix in its task's colour, then the output as the run wrote it.
    expect(forced.stdout).toMatch(/\x1b\[\d+mcheck *\x1b\[0m \x1b\[2m\|\x1b\[0m checking quick/);
    expect(forced.stderr).toMatch(/\x1b\[\d+msucceeded/);
    // One line per transition, never a cursor movement or a line erased: a log is no terminal.
    expect(forced.stderr).not.toMatch(/\x1b\[\d*[AK]/);
  });

  it("ends with the session's result when it is one short line, else with its first line and where the whole is", () => {
    const env = freshEnv();
    const dir = dirname(writeTaskFile(`tasks:\n  short:\n    cmd: echo 42\n    result: stdout\n  long:\n    cmd: printf 'first line\\n'; head -c 300000 /dev/zero | tr '\\0' x\n    result: stdout\n`));
    const short = cli(env, dir, "run", "short");
    expect(short.stderr.trimEnd().split("\n").at(-1)).toMatch(/^tether session (s-\w+) closed, exit code 0: 42$/);
    const long = cli(env, dir, "run", "long");
    const last = long.stderr.trimEnd().split("\n").at(-1)!;
    const id = /^tether session (s-\w+) /.exec(last)?.[1];
    expect(last).toBe(`tether session ${id} closed, exit code 0: first line… (300011 characters in all: tether show ${id})`);
    // The result itself is whole.
    expect((JSON.parse(cli(env, dir, "show", id!, "--json").stdout) as { result: string }).result).toHaveLength(300_011);
  });

  it("takes task names with colons, as npm scripts and Taskfile namespaces are named: run, upstream, a result through xcom, logs --task", () => {
    const env = freshEnv();
    const dir = dirname(writeTaskFile(`tasks:\n  build:prod:\n    cmd: echo v1.2\n    result: stdout\n  deploy:prod:\n    cmd: echo "deploying {{ xcom.build:prod }} and $(tether xcom get build:prod)"\n    upstream: [build:prod]\n`));
    const run = cli(env, dir, "run", "deploy:prod");
    expect(run.status).toBe(0);
    expect(run.stdout).toContain("deploying v1.2 and v1.2\n");
    const [session] = JSON.parse(cli(env, dir, "ls", "--json").stdout) as { id: string }[];
    expect(cli(env, dir, "logs", session!.id, "--task", "build:prod").stdout).toBe("v1.2\n");
  });

  it("keeps a character written in two pieces whole, and the task prefix before each redraw of a progress line", () => {
    const env = freshEnv();
    const dir = dirname(writeTaskFile(`
tasks:
  bar:
    cmd: printf 'price 5\\342\\202'; sleep 0.3; printf '\\254\\n'; printf '\\rstep 1'; sleep 0.3; printf '\\rstep 2\\n'
`));
    const run = cli(env, dir, "run", "bar");
    expect(run.status).toBe(0);
    expect(run.stdout).toBe("bar  | price 5€\nbar  | \rbar  | step 1\rbar  | step 2\n");
  });

  it("passes output that is not UTF-8 (Latin-1, binary) through the prefixed view byte for byte, as tether logs does; logs --json adds the bytes in base64 where its text cannot hold them", () => {
    const env = freshEnv();
    const dir = dirname(writeTaskFile(`tasks:\n  bytes:\n    cmd: printf 'caf\\351\\n\\377\\376 end\\n'\n`));
    const run = spawnSync(process.execPath, [CLI_ENTRY, "run", "bytes"], { env, cwd: dir, timeout: 60_000 });
    expect(run.status).toBe(0);
    expect(run.stdout).toEqual(Buffer.concat([Buffer.from("bytes | caf"), Buffer.from([0xe9]), Buffer.from("\nbytes | "), Buffer.from([0xff, 0xfe]), Buffer.from(" end\n")]));
    // --json: the text, and the bytes themselves beside it where the text cannot hold them.
    const id = cli(env, dir, "ls", "--json").stdout.match(/"id":"(s-\w+)"/)![1]!;
    const chunks = cli(env, dir, "logs", id, "--json").stdout.trim().split("\n").map((line) => JSON.parse(line) as { data: string; data_base64?: string });
    expect(Buffer.concat(chunks.map((c) => (c.data_base64 !== undefined ? Buffer.from(c.data_base64, "base64") : Buffer.from(c.data))))).toEqual(Buffer.from("caf\xe9\n\xff\xfe end\n", "latin1"));
    expect(chunks.every((c) => c.data_base64 === undefined || c.data.includes("\ufffd"))).toBe(true);
  });

  it("prints a run's last line without a newline when the run ends, before the output of the tasks after it", () => {
    const env = freshEnv();
    const dir = dirname(writeTaskFile(`
tasks:
  first:
    cmd: printf 'one\\ntwo without newline'; sleep 0.3
  second:
    upstream: [first]
    cmd: sleep 0.5; echo three
`));
    const run = cli(env, dir, "run", "second");
    expect(run.status).toBe(0);
    expect(run.stdout).toBe("first  | one\nfirst  | two without newline\nsecond | three\n");
  });

  it("follows a session past its close to its services' stops, with what they print as they stop", () => {
    const env = freshEnv();
    const dir = dirname(writeTaskFile(`
tasks:
  svc:
    cmd: trap 'echo stopping; exit 0' TERM; echo up; touch up; while :; do sleep 0.05; done
    readiness: { cmd: "test -e up", interval: 100ms }
  use:
    upstream: [svc]
    cmd: echo using
`));
    const run = cli(env, dir, "run", "use");
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^svc +\| up\nuse +\| using\nsvc +\| stopping\n$/);
    // (The shell may say its sleep was terminated in between: the TERM goes to the run's whole group.)
    expect(run.stderr).toMatch(/session closed, idle: graph finished\n[\s\S]*svc +succeeded .*stopped at the end of the session\n/);
  });

  it("following a keep_open session started before (the same --external-id) shows its history and returns once it is idle", () => {
    const env = freshEnv();
    const dir = dirname(writeTaskFile(`
tasks:
  chat:
    keep_open: true
    cmd: echo hello; printf bye
`));
    const first = cli(env, dir, "run", "chat", "--external-id", "k");
    expect(first.status).toBe(0);
    expect(first.stdout).toBe("chat | hello\nchat | bye\n");
    expect(first.stderr).toContain("open (keep_open: it waits for more input)");
    const again = cli(env, dir, "run", "chat", "--external-id", "k");
    expect(again.status).toBe(0);
    expect(again.stderr).toContain("(already started with this external id)");
    expect(again.stdout).toBe(first.stdout);
    // Open and idle, its graph finished: its outcome is known (show, ls, --json, show --wait).
    const id = JSON.parse(cli(env, dir, "ls", "--json").stdout)[0].id as string;
    expect(JSON.parse(cli(env, dir, "show", id, "--wait", "--json").stdout)).toMatchObject({ status: "open", exit_code: 0 });
    expect(cli(env, dir, "show", id).stdout).toMatch(/^exit code 0$/m);
    expect(cli(env, dir, "ls").stdout).toMatch(new RegExp(`^${id}\\s+chat\\s+open\\/idle\\s+.*exit 0\\n`, "m"));
  });

  it("-d prints the id at once; ls, show and logs then describe the session", async () => {
    const env = freshEnv();
    const dir = dirname(writeTaskFile(GRAPH));
    const r = cli(env, dir, "run", "-d", "check", "--external-id", "ci-build-1");
    expect(r.status).toBe(0);
    const id = r.stdout.trim();
    expect(id).toMatch(/^s-[0-9a-z]{5}$/);
    await eventually(() => (cli(env, dir, "show", id).stdout.includes("status    closed") ? true : undefined));
    const ls = cli(env, dir, "ls");
    expect(ls.stdout.split("\n")[0]).toMatch(/^SESSION +TASK +STATUS/);
    expect(ls.stdout).toContain(`${id}  check  closed`);
    const show = cli(env, dir, "show", id.slice(0, 4));
    expect(show.stdout).toContain("inputs    code=0 level=quick");
    expect(show.stdout).toMatch(/1 +gen +attempt 1 +succeeded/);
    expect(show.stdout).toMatch(/Z +running/);
    expect(show.stdout).toContain("       $ echo generated\n         true\n");
    expect(cli(env, dir, "logs", id).stdout).toBe("generated\nchecking quick\n");
    expect(cli(env, dir, "logs", id, "--task", "check").stdout).toBe("checking quick\n");
    // A task or run the session does not have is named, with the ones it has.
    expect(cli(env, dir, "logs", id, "--task", "chekc")).toMatchObject({ status: 1, stderr: `tether: session ${id} runs no task "chekc": did you mean check? Its graph's tasks are gen, check\n` });
    expect(cli(env, dir, "logs", id, "--run", "9")).toMatchObject({ status: 1, stderr: `tether: session ${id} has no run 9: it has runs 1-2\n` });
    // Words after the task, as npm run and just pass them on: tether's tasks take inputs.
    expect(cli(env, dir, "run", "check", "--", "--grep", "x")).toMatchObject({
      status: 2,
      stderr: `tether: one task per run: "--grep x" came after check; give a task its values as inputs (--input NAME=VALUE; tether tasks lists each task's inputs)\n`,
    });
    expect(cli(env, dir, "logs", id, "--tail", "1").stdout).toBe("checking quick\n");
    expect(cli(env, dir, "logs", id, "-n", "1", "--task", "gen").stdout).toBe("generated\n");
    // Each line after the time it was stored: this session's, to the millisecond.
    const stamped = cli(env, dir, "logs", id, "--timestamps").stdout.split("\n");
    expect(stamped.map((line) => line.replace(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z /, "<time> "))).toEqual(["<time> generated", "<time> checking quick", ""]);
    const times = stamped.slice(0, 2).map((line) => Date.parse(line.slice(0, 24)));
    for (const time of times) expect(Math.abs(Date.now() - time)).toBeLessThan(60_000);
    expect(times[1]).toBeGreaterThanOrEqual(times[0]!);
    // --json: each chunk with its place in its run's output and in the session's log; --from resumes at the latter.
    const chunks = cli(env, dir, "logs", id, "--json").stdout.trim().split("\n").map((line) => JSON.parse(line) as { task: string; offset: number; log_offset: number; data: string });
    expect(chunks.map((c) => [c.task, c.offset, c.log_offset, c.data])).toEqual([["gen", 0, 0, "generated\n"], ["check", 0, 10, "checking quick\n"]]);
    expect(cli(env, dir, "logs", id, "--from", String(chunks[1]!.log_offset)).stdout).toBe("checking quick\n");
    expect(cli(env, dir, "logs", id, "--from", "3").stdout).toBe("erated\nchecking quick\n");
    const tailAndFrom = cli(env, dir, "logs", id, "--tail", "1", "--from", "3");
    expect([tailAndFrom.status, tailAndFrom.stderr]).toEqual([2, "tether: --tail and --from cannot be used together: start at the last lines or at --from\n"]);
    const json = JSON.parse(cli(env, dir, "ls", "--json").stdout) as { id: string; status: string }[];
    expect(json[0]).toMatchObject({ id, status: "closed", external_id: "ci-build-1", workspace: expect.stringMatching(/^w-/), ended_at: expect.stringMatching(/Z$/) });
    // show --json: the session as ls --json lists it, with its detail and runs, in the same words.
    const shown = JSON.parse(cli(env, dir, "show", id, "--json").stdout);
    expect(shown).toMatchObject({ ...json[0], inputs: { code: "0", level: "quick" }, tasks: ["gen", "check"] });
    expect(shown.runs.map((r: { task: string; status: string; exit_code: number }) => [r.task, r.status, r.exit_code])).toEqual([["gen", "succeeded", 0], ["check", "succeeded", 0]]);
    expect(shown.runs[1].transitions.map((t: { status: string }) => t.status)).toEqual(["pending", "queued", "running", "succeeded"]);
    expect(shown.streams).toContainEqual({ name: "result", direction: "output", records: 0, first_sequence: 1 });
    const listed = (...filter: string[]) => (JSON.parse(cli(env, dir, "ls", "--json", ...filter).stdout) as { id: string }[]).map((s) => s.id);
    expect(listed("--status", "closed")).toEqual([id]);
    expect(listed("--status", "Open")).toEqual([]);
    expect(listed("--task", "gen")).toEqual([]);
    const badStatus = cli(env, dir, "ls", "--status", "done");
    expect([badStatus.status, badStatus.stderr]).toEqual([2, 'tether: --status takes open, closed, cancelled, expired, idle, queued, running, waiting, succeeded or failed, got "done"\n']);
    const tasks = cli(env, dir, "tasks");
    expect(tasks.stdout).toContain("input level (choice quick|full, default \"quick\")");
    expect(JSON.parse(cli(env, dir, "tasks", "--json").stdout)[1].inputs[0]).toEqual({ name: "level", type: "choice", default_value: "quick", choices: ["quick", "full"] });
  });

  it("show --wait waits for a detached session's outcome and exits with its code, as docker wait; --timeout exits 124, the session going on; tether wait outside a run points to it", () => {
    const env = freshEnv();
    const dir = dirname(writeTaskFile(GRAPH.replace("echo generated", "sleep 0.5; echo generated")));
    const id = cli(env, dir, "run", "check", "-d", "--input", "code=4").stdout.trim();
    const waited = cli(env, dir, "show", id, "--wait");
    expect(waited.status).toBe(4);
    expect(waited.stdout).toMatch(/^status +closed\n/m);
    expect(waited.stdout).toMatch(/^exit code 4\n/m);
    const ok = cli(env, dir, "run", "check", "-d").stdout.trim();
    expect(JSON.parse(cli(env, dir, "show", ok, "--wait", "--json").stdout)).toMatchObject({ id: ok, status: "closed", exit_code: 0 });
    const long = cli(env, dir, "run", "check", "-d", "--input", "level=full").stdout.trim();
    const late = cli(env, dir, "show", long, "--wait", "--timeout", "100ms");
    expect([late.status, late.stderr]).toEqual([124, `tether: session ${long} had no outcome within 100ms: tether cancel ${long} stops it; --timeout waits longer\n`]);
    expect(cli(env, dir, "show", long, "--wait").status).toBe(0);
    expect(cli(env, dir, "show", long, "--timeout", "1s")).toMatchObject({ status: 2, stderr: "tether: --timeout is how long --wait waits: add --wait\n" });
    expect(cli(env, dir, "wait", long)).toMatchObject({ status: 2, stderr: expect.stringContaining("tether show S --wait waits for a session's outcome") });
  });

  it("show --wait --ready returns once the main task is a ready service (compose up --wait), or its graph finished well; one that will not be ready exits 1 saying why", async () => {
    const env = freshEnv();
    const [port] = await freePorts(1);
    const dir = dirname(
      writeTaskFile(`tasks:
${serveAfter700ms(port!)}  once:
    cmd: echo once
  bad:
    cmd: exit 4
`),
    );
    const serve = cli(env, dir, "run", "serve", "-d").stdout.trim();
    const ready = cli(env, dir, "show", serve, "--wait", "--ready");
    expect(ready.status).toBe(0);
    // Ready means its server answers now, while the session runs on.
    expect(ready.stdout).toMatch(/^status +open, running/m);
    expect(ready.stdout).toMatch(/ 1 {2}serve {2}attempt 1 {2}ready/);
    expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe("ok");
    expect(cli(env, dir, "show", cli(env, dir, "run", "once", "-d").stdout.trim(), "--wait", "--ready").status).toBe(0);
    const bad = cli(env, dir, "run", "bad", "-d").stdout.trim();
    expect(cli(env, dir, "show", bad, "--wait", "--ready")).toMatchObject({
      status: 1,
      stderr: `tether: session ${bad} will not be ready: it ended (closed, exit code 4): task bad failed: exited with code 4 (tether logs ${bad} shows what it said)\n`,
    });
    expect(cli(env, dir, "show", serve, "--ready").stderr).toBe("tether: --ready says what --wait waits for: add --wait\n");
    cli(env, dir, "cancel", serve);
    expect(cli(env, dir, "show", serve, "--wait", "--ready").status).toBe(1);
  });

  it("run --wait starts a session and prints its id once it is ready, as compose up -d --wait (rerun --wait too); one that will not be exits 1 saying why, 124 past --timeout", async () => {
    const env = freshEnv();
    const [port] = await freePorts(1);
    const dir = dirname(
      writeTaskFile(`tasks:
${serveAfter700ms(port!)}  bad:
    cmd: exit 4
  never:
    cmd: exec sleep 300
    readiness: { cmd: "false", interval: 100ms }
`),
    );
    const ready = cli(env, dir, "run", "serve", "--wait");
    expect(ready.status).toBe(0);
    const serve = ready.stdout.trim();
    expect(serve).toMatch(/^s-[a-z0-9]+$/);
    // Its server answers as the command returns, and the session runs on.
    expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe("ok");
    expect(cli(env, dir, "show", serve).stdout).toMatch(/ 1 {2}serve {2}attempt 1 {2}ready/);
    const bad = cli(env, dir, "run", "bad", "--wait");
    const badId = bad.stdout.trim();
    expect(bad.status).toBe(1);
    expect(bad.stderr).toBe(`tether: session ${badId} will not be ready: it ended (closed, exit code 4): task bad failed: exited with code 4 (tether logs ${badId} shows what it said)\n`);
    expect(cli(env, dir, "rerun", badId, "--wait").status).toBe(1);
    const never = cli(env, dir, "run", "never", "--wait", "--timeout", "500ms");
    expect(never.status).toBe(124);
    expect(never.stderr).toContain(`tether: session ${never.stdout.trim()} was not ready within 500ms`);
    // Refused before anything starts.
    const before = cli(env, dir, "ls", "-q").stdout;
    expect(cli(env, dir, "run", "serve", "--timeout", "1s").stderr).toBe("tether: --timeout is how long --wait waits for the session to be ready: add --wait\n");
    expect(cli(env, dir, "run", "serve", "--wait", "--dry-run")).toMatchObject({ status: 2, stderr: "tether: --dry-run starts nothing: drop -d or --wait\n" });
    expect(cli(env, dir, "ls", "-q").stdout).toBe(before);
    cli(env, dir, "cancel", serve);
    cli(env, dir, "cancel", never.stdout.trim());
  });

  it("tasks lists each task's command, graph, inputs, streams and traits, and --json says where each is defined", () => {
    const env = freshEnv();
    const dir = dirname(
      writeTaskFile(`tasks:
  gen:
    cmd: echo generated
  chat:
    cmd: cat
    upstream: [gen]
    stdin: stream
    streams: { approval: input, events: output }
    retries: 2
    retry_delay: 250ms
    timeout: 1500ms
    keep_open: true
    fail_fast: true
    result: stdout
    workspace: chatroom
    max_output: 100M
  web:
    cmd: sleep 300
    readiness: { tcp: "127.0.0.1:1", health_interval: 10s }
  db:
    cmd: sleep 300
    readiness: { tcp: "127.0.0.1:1", health_interval: 0s }
  ci:
    upstream: [gen]
`),
    );
    const tasks = cli(env, dir, "tasks");
    expect(tasks.stdout).toContain("web\n  cmd: sleep 300\n  service (readiness checks, then every 10s once ready)\n");
    expect(tasks.stdout).toContain("db\n  cmd: sleep 300\n  service (readiness checks)\n");
    expect(tasks.stdout).toContain("ci\n  a group: done once its upstreams are (no cmd)\n  after: gen\n");
    expect(cli(env, dir, "run", "ci", "--dry-run").stdout).toContain("ci  after gen\n  a group: done once its upstreams are (no cmd)\n");
    expect(tasks.status).toBe(0);
    expect(tasks.stdout).toContain("chat\n  cmd: cat\n  after: gen\n");
    expect(tasks.stdout).toContain("  streams: stdin (input, fed to the run's stdin), approval (input), events (output)\n");
    expect(tasks.stdout).toContain("  retries 2 after 250ms, timeout 1.5s, keep_open, fail_fast, result: stdout, keeps the last 100.0 MiB of output, in workspace chatroom (none by that name yet: tether ws create chatroom)\n");
    cli(env, dir, "ws", "create", "chatroom");
    expect(cli(env, dir, "tasks").stdout).toContain(", keeps the last 100.0 MiB of output, in workspace chatroom\n");
    const json = JSON.parse(cli(env, dir, "tasks", "--json").stdout) as { name: string; line: number; keep_open?: boolean }[];
    expect(json[1]).toMatchObject({ keep_open: true, fail_fast: true, retry_delay: "0.250s", workspace: "chatroom", max_output_bytes: "104857600", streams: { approval: "input", events: "output" } });
    expect(json.map((t) => [t.name, t.line])).toEqual([
      ["tasks/gen", 2],
      ["tasks/chat", 4],
      ["tasks/web", 17],
      ["tasks/db", 20],
      ["tasks/ci", 23],
    ]);
    const empty = dirname(writeTaskFile("tasks: {}\n"));
    expect(cli(env, empty, "tasks").stdout).toBe(`${join(empty, "tether.yaml")}\nno tasks: define them under its tasks: (name: { cmd: ... })\n`);
  });

  it("run --dry-run prints what a session would run, as make -n: each task's command with the inputs put in, its condition now, where it runs; nothing starts", () => {
    const env = freshEnv();
    const dir = dirname(
      writeTaskFile(`tasks:
  gen:
    cmd: echo generated
  check:
    upstream: [gen]
    cmd: |
      echo "checking {{ inputs.level }}"
      test -n "{{ xcom.gen }}"
    condition: "{{ inputs.level }}"
    retries: 2
    cwd: sub
    inputs:
      level: { type: choice, choices: [quick, full, ""], default: quick }
`),
    );
    mkdirSync(join(dir, "sub"));
    const plan = cli(env, dir, "run", "check", "--input", "level=full", "--dry-run");
    expect(plan.stderr).toBe("");
    expect(plan.status).toBe(0);
    expect(plan.stdout).toBe(
      [
        join(dir, "tether.yaml"),
        "a session of check would run 2 tasks, each after its upstreams (--dry-run: nothing started)",
        "inputs: level=full",
        `workspace: ${dir} (adopted as a workspace when a session starts)`,
        "gen",
        "  $ echo generated",
        "check  after gen",
        '  $ echo "checking full"',
        '    test -n "{{ xcom.gen }}"',
        "  when {{ inputs.level }}: true now, it runs",
        `  retries 2, runs in ${join(dir, "sub")}`,
        "",
      ].join("\n"),
    );
    expect(cli(env, dir, "run", "check", "--input", "level=", "--dry-run").stdout).toContain("  when {{ inputs.level }}: false now, it would be skipped (its downstreams run)\n");
    const json = JSON.parse(cli(env, dir, "run", "check", "--dry-run", "--json").stdout) as { inputs: Record<string, string>; tasks: { task: { name: string }; command: string; condition: string }[] };
    expect(json.inputs).toEqual({ level: "quick" });
    expect(json.tasks.map((t) => [t.task.name, t.condition])).toEqual([
      ["tasks/gen", "none"],
      ["tasks/check", "holds"],
    ]);
    const bad = cli(env, dir, "run", "check", "--input", "level=slow", "--dry-run");
    expect(bad.status).toBe(1);
    expect(bad.stderr).toBe(`tether: input level: "slow" is not one of quick, full, ""\n`);
    expect(cli(env, dir, "run", "check", "--json").stderr).toMatch(/--json goes with --dry-run/);
    // Nothing started, nothing adopted.
    expect(cli(env, dir, "ls", "-q").stdout).toBe("");
    expect(cli(env, dir, "ws", "ls", "-q").stdout).toBe("");
  });

  it("allow_failure: a task that fails for good (after its retry) leaves the graph going, even under --fail-fast; its run says it failed, the session exits 0", () => {
    const env = freshEnv();
    const dir = dirname(
      writeTaskFile(`tasks:
  lint:
    cmd: echo linting; exit 3
    retries: 1
    allow_failure: true
  build:
    cmd: sleep 0.5; echo built
  all:
    upstream: [lint, build]
    cmd: echo all done
`),
    );
    expect(cli(env, dir, "tasks").stdout).toContain("lint\n  cmd: echo linting; exit 3\n  retries 1, allow_failure\n");
    const run = cli(env, dir, "run", "all", "--fail-fast");
    expect(run.status).toBe(0);
    // The sibling was not cancelled by the allowed failure, and the downstream ran.
    expect(run.stdout).toMatch(/build +\| built/);
    expect(run.stdout).toMatch(/all +\| all done/);
    expect(run.stderr).toMatch(/lint +failed .*attempt 2 +exited with code 3; allowed to fail \(allow_failure\): the graph goes on\n/);
    const id = cli(env, dir, "ls", "-q").stdout.trim();
    const show = cli(env, dir, "show", id).stdout;
    expect(show).toMatch(/^exit code 0$/m);
    expect(show).toMatch(/lint +attempt 2 +failed, exit 3: exited with code 3; allowed to fail/);
  });

  it("when: always runs a cleanup after its upstreams whatever their outcome, when: on_failure a rollback only after a failure (fail-fast too); a failure gone on past still fails the session", () => {
    const env = freshEnv();
    const dir = dirname(
      writeTaskFile(`tasks:
  test:
    cmd: echo testing; exit {{ inputs.code }}
    inputs:
      code: { type: int, default: "0" }
  slow:
    cmd: sleep 0.5; echo slow done
  rollback:
    upstream: [test, slow]
    when: on_failure
    cmd: echo rolling back
  cleanup:
    upstream: [test, slow]
    when: always
    cmd: echo cleaning up
  ci:
    upstream: [cleanup, rollback]
    cmd: echo ci end
`),
    );
    expect(cli(env, dir, "tasks").stdout).toContain("cleanup\n  cmd: echo cleaning up\n  after: test, slow\n  runs once its upstreams have ended, whatever their outcome (when: always)\n");
    const passing = cli(env, dir, "run", "ci");
    expect(passing.status).toBe(0);
    expect(passing.stdout).toMatch(/cleanup +\| cleaning up/);
    expect(passing.stdout).not.toContain("rolling back");
    expect(passing.stderr).toMatch(/rollback +skipped +when: on_failure, and no upstream failed\n/);
    expect(passing.stdout).toMatch(/ci +\| ci end/);
    const failing = cli(env, dir, "run", "ci", "--input", "code=4");
    expect(failing.status).toBe(4);
    expect(failing.stdout).toMatch(/slow +\| slow done[^]*cleanup +\| cleaning up/);
    expect(failing.stdout).toMatch(/rollback +\| rolling back/);
    expect(failing.stderr).toMatch(/closed, exit code 4: task test failed: exited with code 4\n$/);
    // fail-fast cancels the sibling and skips the main task; the cleanup and the rollback run all the same.
    const fast = cli(env, dir, "run", "ci", "--input", "code=4", "--fail-fast");
    expect(fast.status).toBe(4);
    expect(fast.stderr).toMatch(/slow +cancelled .*fail-fast: test failed/);
    expect(fast.stdout).toMatch(/cleanup +\| cleaning up/);
    expect(fast.stdout).toMatch(/rollback +\| rolling back/);
    expect(fast.stdout).not.toContain("ci end");
  });

  it("tether pause and resume stop a session's live runs where they are and let them go on; tether kill signals them (HUP to a server that reloads); a paused session cancels at once", async () => {
    const env = freshEnv();
    const dir = dirname(
      writeTaskFile(`tasks:
  count:
    cmd: i=0; while true; do i=$((i+1)); echo $i; sleep 0.05; done
  serve:
    cmd: trap 'echo reloaded' HUP; echo serving; while true; do sleep 0.05; done
  both:
    upstream: [count, serve]
    cmd: "true"
`),
    );
    const id = cli(env, dir, "run", "both", "-d").stdout.trim();
    const logBytes = (): number => Buffer.byteLength(cli(env, dir, "logs", id, "--task", "count").stdout);
    await eventually(() => (logBytes() > 0 && cli(env, dir, "logs", id, "--task", "serve").stdout.includes("serving") ? true : undefined));
    expect(cli(env, dir, "pause", id, "--task", "count")).toEqual({ status: 0, stdout: `paused run 1 (count) of ${id}\n`, stderr: "" });
    expect(cli(env, dir, "show", id).stdout).toContain(`  1  count  attempt 1  running (paused: tether resume ${id})\n`);
    expect(cli(env, dir, "show", id).stdout).toContain(`status    open, running (paused: tether resume ${id})\n`);
    expect(cli(env, dir, "ls").stdout).toMatch(new RegExp(`^${id}\\s+both\\s+open/running \\(paused\\)\\s`, "m"));
    expect((JSON.parse(cli(env, dir, "show", id, "--json").stdout) as { runs: { paused: boolean }[] }).runs.map((r) => r.paused)).toEqual([true, false, false]);
    const held = logBytes();
    await new Promise((r) => setTimeout(r, 400));
    expect(logBytes()).toBe(held);
    expect(cli(env, dir, "kill", id, "-s", "hup", "--task", "serve").stdout).toBe(`sent SIGHUP to run 2 (serve) of ${id}\n`);
    await eventually(() => (cli(env, dir, "logs", id, "--task", "serve").stdout.includes("reloaded") ? true : undefined));
    expect(cli(env, dir, "resume", id).stdout).toBe(`resumed run 1 (count) of ${id}\nresumed run 2 (serve) of ${id}\n`);
    await eventually(() => (logBytes() > held ? true : undefined));
    expect((JSON.parse(cli(env, dir, "show", id, "--json").stdout) as { paused: boolean }).paused).toBe(false);
    // Refusals say why: a task it has not, one with no live run.
    expect(cli(env, dir, "pause", id, "--task", "nope").stderr).toBe(`tether: session ${id} has no task "nope": the tasks are count, serve, both\n`);
    expect(cli(env, dir, "kill", id, "--task", "both")).toMatchObject({ status: 1, stderr: `tether: session ${id} has no live run of task both: a signal goes to a running process (tether show ${id} lists its runs)\n` });
    // Paused, a cancel's SIGTERM is taken at once (SIGCONT first), not SIGKILL 5 s later.
    cli(env, dir, "pause", id);
    const t0 = Date.now();
    expect(cli(env, dir, "cancel", id).stdout).toBe(`${id} cancelled\n`);
    expect(cli(env, dir, "show", id, "--wait").status).toBe(130);
    expect(Date.now() - t0).toBeLessThan(4_000);
    expect(cli(env, dir, "show", id).stdout).toMatch(/ 1 {2}count {2}attempt 1 {2}cancelled, exit 143: /);
  });

  it("a session survives its following CLI being killed with SIGKILL", async () => {
    const env = freshEnv();
    const dir = dirname(writeTaskFile(`tasks:\n  slow:\n    cmd: echo begin; sleep 1.5; echo end\n`));
    const follower = spawn(process.execPath, [CLI_ENTRY, "run", "slow"], { env, cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    follower.stdout.on("data", (d: Buffer) => (out += d.toString()));
    await eventually(() => (out.includes("begin") ? true : undefined));
    follower.kill("SIGKILL");
    const id = await eventually(() => (JSON.parse(cli(env, dir, "ls", "--json").stdout) as { id: string }[])[0]?.id);
    // logs -f joins the live session: what was printed so far, then the rest as it comes, until the session ends.
    const followed = cli(env, dir, "logs", "-f", id);
    expect([followed.status, followed.stdout]).toEqual([0, "begin\nend\n"]);
    expect(cli(env, dir, "show", id).stdout).toContain("status    closed");
    expect(cli(env, dir, "logs", id).stdout).toBe("begin\nend\n");
    expect(cli(env, dir, "show", id).stdout).toContain("exit code 0");
  });
  it("SIGTERM to a following CLI (timeout, a supervisor) detaches as Ctrl-C does: it says how to find the session again, exits 143, and the session goes on", async () => {
    const env = freshEnv();
    const dir = dirname(writeTaskFile(`tasks:\n  slow:\n    cmd: echo begin; sleep 1.5; echo end\n`));
    const follower = spawn(process.execPath, [CLI_ENTRY, "run", "slow"], { env, cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
    let [out, err] = ["", ""];
    follower.stdout.on("data", (d: Buffer) => (out += d.toString()));
    follower.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => follower.once("exit", resolve));
    await eventually(() => (out.includes("begin") ? true : undefined));
    follower.kill("SIGTERM");
    expect(await exited).toBe(143);
    const id = /session (s-\w+) runs slow/.exec(err)![1]!;
    expect(err).toContain(`detached (SIGTERM); session ${id} goes on.\n  follow it again: tether logs -f ${id}\n`);
    expect(err).toContain(`cancel it:       tether cancel ${id}\n`);
    const followed = cli(env, dir, "logs", "-f", id);
    expect([followed.status, followed.stdout]).toEqual([0, "begin\nend\n"]);
  });

  it("a followed run whose daemon stops says the session is kept and how to follow it again; the next daemon runs the retry it owed", async () => {
    const env = freshEnv();
    const dir = dirname(writeTaskFile(`tasks:\n  flaky:\n    cmd: test -f ok || { touch ok; echo failing; exit 2; }; echo fine\n    retries: 1\n    retry_delay: 4s\n`));
    const follower = spawn(process.execPath, [CLI_ENTRY, "run", "flaky"], { env, cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
    let err = "";
    follower.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => follower.once("exit", resolve));
    await eventually(() => (err.includes("retrying in 4s") ? true : undefined));
    expect(cli(env, dir, "daemon", "stop").status).toBe(0);
    expect(await exited).toBe(1);
    const id = /session (s-\w+) runs flaky/.exec(err)![1]!;
    expect(err).toContain(`tether: the daemon was stopped while this command followed the session\nsession ${id} is kept:`);
    expect(err).toContain(`follow it again: tether attach ${id}`);
    // The next daemon (started by this command) owes the retry: it runs, and the session succeeds.
    const followed = cli(env, dir, "logs", "-f", id);
    expect([followed.status, followed.stdout]).toEqual([0, "failing\nfine\n"]);
    expect(cli(env, dir, "show", id).stdout).toContain("exit code 0");
  });

  it("on a terminal, redraws the progress in place, fitted to the terminal when the graph has more tasks than it has rows", async () => {
    const { tether, tmux, screen, waitFor } = terminals();
    const names = Array.from({ length: 30 }, (_, i) => `t${i}`);
    const yaml = `tasks:\n${names.map((n) => `  ${n}: { cmd: "echo out-${n}" }\n`).join("")}  all: { cmd: "echo done", upstream: [${names.join(", ")}] }\n`;
    const dir = dirname(writeTaskFile(yaml));
    tmux("new-session", "-d", "-s", "run", "-x", "80", "-y", "12", "-c", dir, `${tether} run all -j 2; echo "rc=$?"; sleep 60`);
    const shown = await waitFor("run", /^rc=\d+$/m);
    expect(shown).toMatch(/^rc=0$/m);
    // The block fits the 12 rows with one to spare above and below: 9 tasks and a line counting the other 22; the main task, which ended last, among the shown.
    expect(shown).toMatch(/^… 22 more: 22 succeeded$/m);
    expect(shown).toMatch(/^all +succeeded/m);
    // Redrawn in place: no copies of it scrolled into the history, where a block taller than the terminal leaves one per redraw.
    const history = tmux("capture-pane", "-p", "-J", "-S", "-", "-t", "run");
    expect(history.split("\n").filter((line) => /^(t\d+|all) +(pending|queued|running|succeeded) /.test(`${line} `))).toHaveLength(9);
    expect(history).toContain("t29  | out-t29");
    expect(screen("run")).toContain("session");
  });

  it("on a terminal, asks for each missing required input (a secret without echo), and a rerun for the secret again; elsewhere, refuses naming it", async () => {
    const { env, tether, tmux, waitFor, screen } = terminals();
    const yaml = `tasks:
  deploy:
    cmd: echo "to $TETHER_INPUT_TARGET, a token of $(printf %s "$TETHER_INPUT_TOKEN" | wc -c) characters"
    inputs:
      target: { type: string, description: where to deploy }
      token: { type: secret }
`;
    const dir = dirname(writeTaskFile(yaml));
    const refused = cli(env, dir, "run", "deploy");
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toMatch(/input target/);
    tmux("new-session", "-d", "-s", "ask", "-x", "100", "-y", "20", "-c", dir, `${tether} run deploy; echo "rc=$?"; sleep 60`);
    await waitFor("ask", "target - where to deploy:");
    tmux("send-keys", "-t", "ask", "staging", "Enter");
    await waitFor("ask", "token:");
    // Backspace takes back the stray character.
    tmux("send-keys", "-t", "ask", "hunter2-secretX", "BSpace", "Enter");
    const shown = await waitFor("ask", /^rc=\d+$/m);
    expect(shown).toMatch(/^rc=0$/m);
    expect(shown).toContain("to staging, a token of 14 characters");
    expect(screen("ask")).not.toContain("hunter2");

    // A rerun takes the inputs again but the secret, which was never stored: asked for on a terminal, refused elsewhere.
    const [first] = JSON.parse(cli(env, dir, "ls", "--json").stdout) as { id: string }[];
    const notAsked = cli(env, dir, "rerun", first!.id);
    expect([notAsked.status, notAsked.stderr]).toEqual([1, `tether: session ${first!.id}'s secret input token was never stored: give it again (--input token=VALUE)\n`]);
    tmux("new-session", "-d", "-s", "again", "-x", "100", "-y", "20", "-c", dir, `${tether} rerun ${first!.id}; echo "rc=$?"; sleep 60`);
    await waitFor("again", `token (secret, not stored with ${first!.id}):`);
    tmux("send-keys", "-t", "again", "abc", "Enter");
    const again = await waitFor("again", /^rc=\d+$/m);
    expect(again).toMatch(/^rc=0$/m);
    expect(again).toContain(`again (a rerun of ${first!.id})`);
    expect(again).toContain("to staging, a token of 3 characters");
    expect((JSON.parse(cli(env, dir, "ls", "--json").stdout) as { rerun_of: string | null }[]).map((s) => s.rerun_of)).toEqual([first!.id, null]);
  });

  it("Ctrl-C detaches a followed run, says how to come back and how to cancel, and the session goes on", async () => {
    const { env, tether, tmux, waitFor } = terminals();
    const dir = dirname(writeTaskFile(`tasks:\n  long:\n    cmd: for i in $(seq 1 300); do echo tick $i; sleep 0.1; done\n`));
    tmux("new-session", "-d", "-s", "follow", "-x", "100", "-y", "20", "-c", dir, `${tether} run long; echo "rc=$?"; sleep 60`);
    await waitFor("follow", "tick 3");
    tmux("send-keys", "-t", "follow", "C-c");
    const shown = await waitFor("follow", /^rc=\d+$/m);
    const id = /detached; session (s-\w+) goes on/.exec(shown)?.[1];
    expect(id).toBeDefined();
    expect(shown).toContain(`cancel it:       tether cancel ${id}`);
    // 130, as any command Ctrl-C stops: `tether run long && next` does not go on to next.
    expect(shown).toMatch(/^rc=130$/m);
    const [session] = JSON.parse(cli(env, dir, "ls", "--json").stdout) as { id: string; status: string; activity: string }[];
    expect(session).toMatchObject({ id, status: "open", activity: "running" });
    expect(cli(env, dir, "cancel", id!).status).toBe(0);
  });

  it("on a terminal whose TERM is dumb, prints plain progress lines with no colour or cursor movement", async () => {
    const { tether, tmux, waitFor } = terminals();
    const dir = dirname(writeTaskFile(`tasks:\n  first: { cmd: "echo one" }\n  second: { cmd: "echo two", upstream: [first] }\n`));
    tmux("new-session", "-d", "-s", "dumb", "-x", "100", "-y", "30", "-c", dir, `TERM=dumb ${tether} run second; echo "rc=$?"; sleep 60`);
    const shown = await waitFor("dumb", /^rc=\d+$/m);
    expect(shown).toMatch(/^rc=0$/m);
    // With its escapes (-e): none, where a colour or a redraw would show.
    const history = tmux("capture-pane", "-p", "-e", "-S", "-", "-t", "dumb");
    expect(history).not.toContain("\x1b[");
    const lines = history.split("\n");
    expect(lines).toContain("first  | one");
    expect(lines.filter((line) => /^tether (first|second) +(queued|running|succeeded)/.test(line))).toHaveLength(6);
  });

  it("on a terminal, FORCE_COLOR=0 leaves colour out as NO_COLOR does", async () => {
    const { tether, tmux, waitFor } = terminals();
    const dir = dirname(writeTaskFile(`tasks:\n  first: { cmd: "echo one" }\n`));
    for (const [name, force] of [["painted", ""], ["plain", "FORCE_COLOR=0"]] as const) {
      tmux("new-session", "-d", "-s", name, "-x", "100", "-y", "30", "-c", dir, `env -u NO_COLOR ${force} ${tether} run first; echo "rc=$?"; sleep 60`);
      expect(await waitFor(name, /^rc=\d+$/m)).toMatch(/^rc=0$/m);
    }
    // With its escapes (-e): the prefix's colour, but for FORCE_COLOR=0.
    expect(tmux("capture-pane", "-p", "-e", "-S", "-", "-t", "painted")).toMatch(/\x1b\[\d+mfirst/);
    const plain = tmux("capture-pane", "-p", "-e", "-S", "-", "-t", "plain");
    expect(plain).not.toContain("\x1b[");
    expect(plain.split("\n")).toContain("first | one");
  });

  it("on a narrow terminal, cuts the progress lines to its width so they are redrawn in place", async () => {
    const { tether, tmux, waitFor } = terminals();
    const [a, b, c] = ["a", "b", "c"].map((letter) => letter.repeat(40));
    const dir = dirname(writeTaskFile(`tasks:\n  ${a}: { cmd: "echo one" }\n  ${b}: { cmd: "echo two", upstream: [${a}] }\n  ${c}: { cmd: "echo three", upstream: [${b}] }\n`));
    tmux("new-session", "-d", "-s", "narrow", "-x", "50", "-y", "20", "-c", dir, `${tether} run ${c}; echo "rc=$?"; sleep 60`);
    const shown = await waitFor("narrow", /^rc=\d+$/m);
    expect(shown).toMatch(/^rc=0$/m);
    const history = tmux("capture-pane", "-p", "-S", "-", "-t", "narrow").split("\n");
    // Each task's line once: the final block. A line wider than the terminal wraps, and the redraw would leave its first row behind each time.
    for (const name of [a, b, c]) expect(history.filter((line) => line.startsWith(`${name}  `))).toHaveLength(1);
    expect(history.filter((line) => line.startsWith(`${a}  `))[0]!.length).toBeLessThanOrEqual(49);
  });
});
