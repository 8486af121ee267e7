import { spawn, spawnSync } from "node:child_process";
import { userInfo } from "node:os";
import { describe, expect, it } from "vitest";
import { CLI_ENTRY } from "../helpers/daemon.js";
import { eventually } from "../helpers/sessions.js";
import { terminalsPerTest } from "../helpers/terminals.js";

const setup = terminalsPerTest();

function cli(env: NodeJS.ProcessEnv, ...args: string[]): string {
  return spawnSync(process.execPath, [CLI_ENTRY, ...args], { env, encoding: "utf8" }).stdout;
}

function cliResult(env: NodeJS.ProcessEnv, ...args: string[]): { status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, [CLI_ENTRY, ...args], { env, encoding: "utf8" });
  return { status: r.status, stderr: r.stderr };
}

describe("tether pty (the built CLI in real terminals, driven by tmux)", () => {
  it("opens the user's login shell when none is named and $SHELL is unset, as tmux does", () => {
    const { env } = setup();
    cli(env, "ws", "create", "w");
    const withoutShell = { ...env };
    delete withoutShell["SHELL"];
    const id = cli(withoutShell, "pty", "w", "-d").trim();
    const [pty] = (JSON.parse(cli(env, "pty", "ls", "--json")) as { id: string; argv: string[] }[]).filter((p) => p.id === id);
    expect(pty?.argv).toEqual([userInfo().shell]);
    cli(env, "pty", "kill", id);
    // A SHELL that cannot run (left from another machine) is passed over for it too.
    const gone = cli({ ...env, SHELL: "/nonexistent/bin/fish" }, "pty", "w", "-d").trim();
    expect((JSON.parse(cli(env, "pty", "ls", "--json")) as { id: string; argv: string[] }[]).find((p) => p.id === gone)?.argv).toEqual([userInfo().shell]);
    cli(env, "pty", "kill", gone);
  });

  it("a terminal opened from a shell gets its locale, and its TERM and COLORTERM when it shows there, as ssh sends them, whatever the daemon was started with", async () => {
    const { env, tether, tmux, waitFor } = setup();
    // A daemon started without a locale, as by a script or a supervisor.
    const bare = Object.fromEntries(Object.entries(env).filter(([name]) => !(name === "LANG" || name === "LANGUAGE" || name.startsWith("LC_") || name === "COLORTERM")));
    cli(bare, "daemon", "start");
    cli(bare, "ws", "create", "w");
    const show = `sh -c 'echo "[$LANG][$LC_CTYPE][$TERM][$COLORTERM]"; sleep 30'`;
    tmux("new-session", "-d", "-s", "shell", "-x", "100", "-y", "20", `echo "pane TERM=$TERM"; LANG=C.UTF-8 LC_CTYPE=C.UTF-8 COLORTERM=truecolor ${tether} pty w -- ${show}`);
    const shown = await waitFor("shell", /^\[.*\]$/m);
    const paneTerm = /pane TERM=(\S+)/.exec(shown)![1];
    expect(shown).toContain(`[C.UTF-8][C.UTF-8][${paneTerm}][truecolor]`);
    // Opened from a script (-d): no terminal shows it, so the daemon's TERM; the locale still; --env wins.
    const detached = (...args: string[]) => cli({ ...bare, LANG: "C.UTF-8", COLORTERM: "truecolor" }, "pty", "w", "-d", ...args, "--", "sh", "-c", 'echo "[$LANG][$TERM][$COLORTERM]"; sleep 30').trim();
    const read = async (id: string) => eventually(() => /\[.*\]/.exec(cli(env, "pty", "read", id, "--no-follow"))?.[0]);
    expect(await read(detached())).toBe("[C.UTF-8][xterm-256color][]");
    expect(await read(detached("--env", "LANG=C", "--env", "TERM=vt100"))).toBe("[C][vt100][]");
  });

  it("opens a shell, detaches with Ctrl-\\, reattaches with the screen replayed; a read-only client watches; the exit code reaches every client", async () => {
    const { env, tether, tmux, waitFor, screen } = setup();
    cli(env, "ws", "create", "w");
    tmux("new-session", "-d", "-s", "one", "-x", "100", "-y", "30", `${tether} pty w -- sh; echo "rc=$?"; sleep 60`);
    await waitFor("one", "#");
    tmux("send-keys", "-t", "one", "stty size; echo typed-$((40+2))", "Enter");
    await waitFor("one", "typed-42");
    expect(screen("one")).toContain("30 100");
    tmux("send-keys", "-t", "one", "C-\\");
    await waitFor("one", /detached from pty p-\w+: it keeps running/);
    const [pty] = JSON.parse(cli(env, "pty", "ls", "--json")) as { id: string; state: string; attached_clients: number }[];
    expect(pty).toMatchObject({ state: "open", attached_clients: 0 });
    // The table names the workspace as its user did.
    expect(cli(env, "pty", "ls")).toMatch(new RegExp(`^${pty!.id}\\s+w\\s+open\\s+100x30\\s+0\\s`, "m"));
    const shown = cli(env, "ws", "show", "w");
    expect(shown).toMatch(/live\s+1 pty/);
    expect(shown).toMatch(new RegExp(`open PTYs:[\\s\\S]*${pty!.id}\\s+\\d+\\s+100x30\\s+0\\s+sh`));

    tmux("new-session", "-d", "-s", "two", "-x", "80", "-y", "24", `${tether} pty attach ${pty!.id}; echo "rc=$?"; sleep 60`);
    tmux("new-session", "-d", "-s", "watch", "-x", "80", "-y", "24", `${tether} pty attach ${pty!.id} --read-only; echo "rc=$?"; sleep 60`);
    await waitFor("two", "typed-42");
    await waitFor("watch", "typed-42");
    tmux("send-keys", "-t", "watch", "echo from-the-watcher", "Enter");
    tmux("send-keys", "-t", "two", "echo from-two", "Enter");
    await waitFor("watch", "from-two");
    expect(screen("two")).not.toContain("from-the-watcher");
    tmux("send-keys", "-t", "two", "exit 5", "Enter");
    await waitFor("two", "rc=5");
    await waitFor("watch", "rc=5");
    expect(JSON.parse(cli(env, "pty", "ls", "--all", "--json"))[0]).toMatchObject({ state: "closed", exit: { exit_code: 5 } });
  });

  it("--name names a terminal as tmux new -s does: the detach hint and attach use it, pty ls shows it, a second open one of that name is refused, -A attaches to it, rename names it anew", async () => {
    const { env, tether, tmux, waitFor } = setup();
    cli(env, "ws", "create", "w");
    tmux("new-session", "-d", "-s", "one", "-x", "100", "-y", "30", `${tether} pty w --name dev -- sh; echo "rc=$?"; sleep 60`);
    await waitFor("one", "#");
    tmux("send-keys", "-t", "one", "echo typed-$((40+2))", "Enter");
    await waitFor("one", "typed-42");
    tmux("send-keys", "-t", "one", "C-\\");
    await waitFor("one", "[detached from pty dev: it keeps running. Come back: tether pty attach dev   close it: tether pty kill dev]");
    const [pty] = JSON.parse(cli(env, "pty", "ls", "--json")) as { id: string; name: string }[];
    expect(pty!.name).toBe("dev");
    expect(cli(env, "pty", "ls")).toMatch(new RegExp(`^${pty!.id}\\s+dev\\s+w\\s+open\\s`, "m"));
    expect(cliResult(env, "pty", "w", "-d", "--name", "dev", "--", "true")).toMatchObject({ status: 1, stderr: `tether: PTY ${pty!.id} is open with the name dev: attach to it (tether pty attach dev), or pick another name\n` });
    // -A, as tmux new -A: the open one of that name (with -d, its id), else a new one.
    expect(cli(env, "pty", "w", "-d", "--name", "dev", "-A", "--", "true").trim()).toBe(pty!.id);
    tmux("new-session", "-d", "-s", "two", "-x", "100", "-y", "30", `${tether} pty w --name dev -A -- sh; echo "rc=$?"; sleep 60`);
    await waitFor("two", "typed-42");
    tmux("send-keys", "-t", "two", "exit 3", "Enter");
    await waitFor("two", "rc=3");
    const made = cli(env, "pty", "w", "-d", "--name", "dev", "-A", "--", "sleep", "30").trim();
    expect(made).not.toBe(pty!.id);
    expect(JSON.parse(cli(env, "pty", "ls", "--json")).map((p: { id: string; name: string }) => [p.id, p.name])).toEqual([[made, "dev"]]);
    // Renamed, as tmux rename-session.
    expect(cli(env, "pty", "rename", "dev", "work")).toBe(`${made} work\n`);
    expect(JSON.parse(cli(env, "pty", "ls", "--json")).map((p: { id: string; name: string }) => [p.id, p.name])).toEqual([[made, "work"]]);
  });

  it("pty attach -d detaches the other clients as tmux attach -d does, pty -A -D as tmux new -A -D, pty detach every one as tmux detach-client: each says so and exits 0, the shell goes on", async () => {
    const { env, tether, tmux, waitFor } = setup();
    cli(env, "ws", "create", "w");
    tmux("new-session", "-d", "-s", "one", "-x", "100", "-y", "30", `${tether} pty w --name dev -- sh; echo "rc1=$?"; sleep 60`);
    await waitFor("one", "#");
    tmux("send-keys", "-t", "one", "echo typed-$((40+2))", "Enter");
    await waitFor("one", "typed-42");
    tmux("new-session", "-d", "-s", "two", "-x", "100", "-y", "30", `${tether} pty attach dev -d; echo "rc2=$?"; sleep 60`);
    await waitFor("one", "[detached: another client attached to pty dev and detached the others (tether pty attach --detach-others). pty dev keeps running. Come back: tether pty attach dev]");
    await waitFor("one", "rc1=0");
    await waitFor("two", "typed-42");
    expect(cli(env, "pty", "ls")).toMatch(/^p-\S+\s+dev\s+w\s+open\s+100x30\s+1\s/m);
    tmux("new-session", "-d", "-s", "three", "-x", "100", "-y", "30", `${tether} pty w --name dev -A -D -- sh; echo "rc3=$?"; sleep 60`);
    await waitFor("two", "rc2=0");
    await waitFor("three", "typed-42");
    tmux("send-keys", "-t", "three", "echo from-$((3*3))", "Enter");
    await waitFor("three", "from-9");
    expect(cli(env, "pty", "detach", "dev")).toMatch(/^detached 1 client\(s\) from p-\S+\n$/);
    await waitFor("three", "[detached: pty dev's clients were detached (tether pty detach). pty dev keeps running. Come back: tether pty attach dev]");
    await waitFor("three", "rc3=0");
    expect(cli(env, "pty", "read", "dev", "--no-follow")).toContain("from-9");
    // pty show: one PTY's facts, as exec show.
    const shown = cli(env, "pty", "show", "dev");
    expect(shown).toMatch(/^pty {9}p-\w+ \(dev\) in workspace w-\w+\ncommand {5}sh\ncwd {9}\/\S+\nstate {7}open \(pid \d+\)\nsize {8}100x30, the latest active client's\nclients {5}0 attached; one last attached or detached \d{4}-/);
    expect(JSON.parse(cli(env, "pty", "show", "dev", "--json"))).toMatchObject({ name: "dev", state: "open", size_policy: "latest", attached_clients: 0, last_attach_time: expect.any(String) });
    expect(cliResult(env, "pty", "w", "--name", "x", "-D", "--", "true")).toMatchObject({ status: 2, stderr: expect.stringContaining("-D detaches the other clients of the PTY -A attaches to") });
  });

  it("pty attach with no P attaches to the open PTY used last (attached to or detached from), else the newest, as tmux attach with no target", async () => {
    const { env, tether, tmux, waitFor } = setup();
    cli(env, "ws", "create", "w");
    const one = cli(env, "pty", "w", "-d", "--name", "one", "--", "sh").trim();
    const two = cli(env, "pty", "w", "-d", "--name", "two", "--", "sh").trim();
    const usedAt = (id: string) => (JSON.parse(cli(env, "pty", "ls", "--json")) as { id: string; last_attach_time: string | null }[]).find((p) => p.id === id)!.last_attach_time;
    expect([usedAt(one), usedAt(two)]).toEqual([null, null]);
    // Nobody attached yet: the newest.
    tmux("new-session", "-d", "-s", "a", "-x", "100", "-y", "30", `${tether} pty attach; sleep 60`);
    await waitFor("a", "#");
    tmux("send-keys", "-t", "a", "echo in-$TETHER_PTY", "Enter");
    await waitFor("a", `in-${two}`);
    tmux("send-keys", "-t", "a", "C-\\");
    await waitFor("a", "[detached from pty two:");
    // one attached (and detached) since: it is the one used last.
    tmux("new-session", "-d", "-s", "b", "-x", "100", "-y", "30", `${tether} pty attach one; sleep 60`);
    await waitFor("b", "#");
    tmux("send-keys", "-t", "b", "C-\\");
    await waitFor("b", "[detached from pty one:");
    tmux("new-session", "-d", "-s", "c", "-x", "100", "-y", "30", `${tether} pty attach; sleep 60`);
    await waitFor("c", "#");
    tmux("send-keys", "-t", "c", "echo in-$TETHER_PTY", "Enter");
    await waitFor("c", `in-${one}`);
    tmux("send-keys", "-t", "c", "C-\\");
    await waitFor("c", "[detached from pty one:");
    expect(Date.parse(usedAt(one)!)).toBeGreaterThan(Date.parse(usedAt(two)!));
    cli(env, "pty", "kill", one);
    cli(env, "pty", "kill", two);
    expect(cliResult(env, "pty", "attach")).toMatchObject({ status: 1, stderr: "tether: no PTY is open to attach to: open one with tether pty WS (tether pty ls --all lists the closed ones)\n" });
  });

  it("the detach key inside a paste goes to the program; --detach-key and TETHER_DETACH_KEY change the key; pty kill closes it", async () => {
    const { env, tether, tmux, waitFor } = setup();
    cli(env, "ws", "create", "w");
    // The program reads raw bytes (no signal keys), so Ctrl-\ reaches it as byte 034.
    const program = `stty raw -echo; echo ready; head -c 3 | od -An -c; head -c 1 | od -An -c; stty sane; exec sh`;
    tmux("new-session", "-d", "-s", "one", "-x", "100", "-y", "30", `${tether} pty w -- sh -c '${program}'; echo "rc=$?"; sleep 60`);
    await waitFor("one", "ready");
    tmux("set-buffer", "x\x1cy");
    tmux("paste-buffer", "-t", "one");
    await waitFor("one", /x\s+034\s+y/);
    tmux("send-keys", "-t", "one", "C-\\");
    await waitFor("one", "detached from pty");

    tmux("new-session", "-d", "-s", "two", "-x", "100", "-y", "30", `${tether} pty w --detach-key ctrl-] -- sh -c '${program}'; echo "rc=$?"; sleep 60`);
    await waitFor("two", "ready");
    tmux("send-keys", "-t", "two", "a", "b", "c");
    await waitFor("two", /a\s+b\s+c/);
    tmux("send-keys", "-t", "two", "C-\\");
    await waitFor("two", /^\s*034\s*$/m);
    tmux("send-keys", "-t", "two", "C-]");
    await waitFor("two", "detached from pty");
    const ptys = JSON.parse(cli(env, "pty", "ls", "--json")) as { id: string }[];
    expect(ptys).toHaveLength(2);
    // The environment's key, for every attach: Ctrl-\ is then the program's.
    tmux("new-session", "-d", "-s", "three", "-x", "100", "-y", "30", `TETHER_DETACH_KEY=^A ${tether} pty attach ${ptys[1]!.id}; echo "rc=$?"; sleep 60`);
    await waitFor("three", "ready");
    // The first terminal's program still waits for one byte: Ctrl-\ reaches it.
    tmux("send-keys", "-t", "three", "C-\\");
    await waitFor("three", /^\s*034\s*$/m);
    tmux("send-keys", "-t", "three", "C-a");
    await waitFor("three", /detached from pty[\s\S]*rc=0/);
    for (const pty of ptys) expect(cli(env, "pty", "kill", pty.id)).toMatch(/^closed p-\w+/);
    expect(JSON.parse(cli(env, "pty", "ls", "--json"))).toEqual([]);
  });

  it("--detach-key none leaves every key to the program, as ssh's -e none; a key that is none of these is refused naming where it came from", async () => {
    const { env, tether, tmux, waitFor } = setup();
    cli(env, "ws", "create", "w");
    const program = `stty raw -echo; echo ready; head -c 1 | od -An -c; stty sane; echo read-it`;
    tmux("new-session", "-d", "-s", "none", "-x", "100", "-y", "30", `${tether} pty w --detach-key none -- sh -c '${program}'; echo "rc=$?"; sleep 60`);
    await waitFor("none", "ready");
    tmux("send-keys", "-t", "none", "C-\\");
    await waitFor("none", /034[\s\S]*read-it[\s\S]*rc=0/);
    const fromEnv = spawnSync(process.execPath, [CLI_ENTRY, "pty", "w", "--", "true"], { env: { ...env, TETHER_DETACH_KEY: "alt-x" }, encoding: "utf8" });
    expect([fromEnv.status, fromEnv.stderr]).toEqual([2, 'tether: TETHER_DETACH_KEY takes a control key such as ctrl-\\\\, ctrl-] or ^A, or none (got "alt-x")\n']);
  });

  it("with stdin not a terminal: a new terminal is typed stdin, then Ctrl-D at its end once the program waits for input (bash too); a client attached to an existing one only stops typing", async () => {
    const { env, tether, tmux, waitFor } = setup();
    cli(env, "ws", "create", "w");
    const piped = spawnSync(process.execPath, [CLI_ENTRY, "pty", "w", "--", "sh"], { env, input: "echo piped-$((40+2))\n", encoding: "utf8", timeout: 30_000 });
    expect(piped.stdout).toContain("piped-42");
    expect(piped.status).toBe(0);
    // The command line without --, as exec takes it.
    const exited = spawnSync(process.execPath, [CLI_ENTRY, "pty", "w", "sh"], { env, input: "exit 4\n", encoding: "utf8", timeout: 30_000 });
    expect(exited.status).toBe(4);
    // bash starts in the terminal's canonical mode and reads in readline's own: Ctrl-D typed before readline reads was lost, and the shell never ended.
    // The reader need not be the program: the key waits for `cat`, not for the shell that waits for it.
    const cases = [
      [["pty", "w", "--", "bash", "--norc"], "echo bash-$((40+2))\n", "bash-42"],
      [["pty", "w", "--", "bash"], "", ""],
      [["exec", "-t", "w", "--", "bash"], "", ""],
      [["exec", "-t", "w", "--", "sh", "-c", "sleep 0.5; cat"], "piped to cat\n", "piped to cat"],
    ] as const;
    for (const [command, input, shown] of cases) {
      const shell = spawnSync(process.execPath, [CLI_ENTRY, ...command], { env, input, encoding: "utf8", timeout: 30_000 });
      expect(shell.status, `${command.join(" ")}: ${shell.stdout}`).toBe(0);
      expect(shell.stdout).toContain(shown);
    }
    expect((JSON.parse(cli(env, "pty", "ls", "--all", "--json")) as { state: string }[]).map((p) => p.state)).toEqual(["closed", "closed", "closed", "closed"]);

    // A shell that was there before (opened in tmux, detached): an attach whose stdin ends does not end it.
    tmux("new-session", "-d", "-s", "one", "-x", "100", "-y", "30", `${tether} pty w -- sh; sleep 60`);
    await waitFor("one", "#");
    tmux("send-keys", "-t", "one", "C-\\");
    await waitFor("one", "detached from pty");
    const [open] = JSON.parse(cli(env, "pty", "ls", "--json")) as { id: string }[];
    const attached = spawn(process.execPath, [CLI_ENTRY, "pty", "attach", open!.id], { env, stdio: ["pipe", "pipe", "inherit"] });
    let seen = "";
    attached.stdout.on("data", (d: Buffer) => (seen += d.toString()));
    attached.stdin.end("echo typed-$((40+2))\n");
    await eventually(() => (seen.includes("typed-42") ? true : undefined));
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(attached.exitCode).toBeNull();
    attached.kill("SIGINT");
    await new Promise((resolve) => attached.once("close", resolve));
    await eventually(() => {
      const [pty] = JSON.parse(cli(env, "pty", "ls", "--json")) as { id: string; attached_clients: number }[];
      return pty?.id === open!.id && pty.attached_clients === 0 ? pty : undefined;
    });
  });

  it("a program's output reaches the terminal as it wrote it: a bare newline in its raw mode moves the cursor down, not to the left edge", async () => {
    const { env, tether, tmux, waitFor } = setup();
    cli(env, "ws", "create", "w");
    // `stty raw` turns the PTY's own output processing off, as full-screen programs do: "\n" is then cursor down only.
    const program = `stty raw; printf 'ab\\ncd\\r\\nraw-done'; sleep 1; stty sane`;
    for (const command of [`pty w -- sh -c "${program}"`, `exec -t w -- sh -c "${program}"`]) {
      const pane = command.startsWith("pty") ? "pty" : "exec";
      tmux("new-session", "-d", "-s", pane, "-x", "80", "-y", "24", `${tether} ${command}; sleep 60`);
      const shown = await waitFor(pane, "raw-done");
      expect(shown.split("\n").slice(0, 3)).toEqual(["ab", "  cd", "raw-done"]);
    }
  });

  it("a full-screen program's modes: detaching leaves them, reattaching far past where they were set restores them and the screen, a killed program's are undone", async () => {
    const { env, tether, tmux, waitFor, screen } = setup();
    cli(env, "ws", "create", "w");
    // As vim or htop start: the alternate screen, application cursor keys and keypad, SGR mouse reporting, no cursor;
    // then far more output than an attach replays.
    const modes = String.raw`\033[?1049h\033[?1h\033=\033[?1000;1006h\033[?25l`;
    const flags = (pane: string): string =>
      tmux("display-message", "-p", "-t", pane, "#{alternate_on} #{keypad_cursor_flag} #{keypad_flag} #{mouse_any_flag} #{mouse_sgr_flag} #{cursor_flag}").trim();
    const [programModes, resetModes] = ["1 1 1 1 1 0", "0 0 0 0 0 1"];
    tmux("new-session", "-d", "-s", "one", "-x", "80", "-y", "24", `${tether} pty w -- sh -c 'printf "${modes}"; seq 1 30000; echo ready; sleep 600'; sleep 60`);
    await waitFor("one", "ready");
    expect(flags("one")).toBe(programModes);
    const programScreen = screen("one");
    tmux("send-keys", "-t", "one", "C-\\");
    await waitFor("one", "detached from pty");
    expect(flags("one")).toBe(resetModes);
    expect(screen("one")).not.toContain("ready");

    const [pty] = JSON.parse(cli(env, "pty", "ls", "--json")) as { id: string }[];
    tmux("new-session", "-d", "-s", "two", "-x", "80", "-y", "24", `${tether} pty attach ${pty!.id}; echo "rc=$?"; sleep 60`);
    await waitFor("two", "ready");
    expect(flags("two")).toBe(programModes);
    expect(screen("two")).toBe(programScreen);
    // Killed, the program cannot leave its modes: the CLI does as it exits.
    cli(env, "pty", "kill", pty!.id, "--signal", "KILL");
    await waitFor("two", "rc=137");
    expect(flags("two")).toBe(resetModes);
  });

  it("exec -t and exec attach take the terminal out of the modes a program left on: a viewer that leaves, a program killed before it could clean up", async () => {
    const { env, tether, tmux, waitFor } = setup();
    cli(env, "ws", "create", "w");
    const flags = (pane: string): string => tmux("display-message", "-p", "-t", pane, "#{alternate_on} #{mouse_any_flag} #{keypad_cursor_flag}").trim();
    tmux("new-session", "-d", "-s", "exec", "-x", "80", "-y", "24", `${tether} exec -t w -- sh -c 'printf "\\033[?1049h\\033[?1000h\\033[?1h"; echo in-the-program; sleep 600'; echo "rc=$?"; sleep 60`);
    await waitFor("exec", "in-the-program");
    expect(flags("exec")).toBe("1 1 1");
    const [exec] = JSON.parse(cli(env, "exec", "ls", "w", "--json")) as { id: string }[];
    tmux("new-session", "-d", "-s", "viewer", "-x", "80", "-y", "24", `${tether} exec attach ${exec!.id}; echo "rc=$?"; sleep 60`);
    await waitFor("viewer", "in-the-program");
    expect(flags("viewer")).toBe("1 1 1");
    tmux("send-keys", "-t", "viewer", "C-c");
    await waitFor("viewer", /detached; exec[\s\S]*rc=130/);
    expect(flags("viewer")).toBe("0 0 0");
    cli(env, "exec", "kill", exec!.id, "--signal", "KILL");
    await waitFor("exec", "rc=137");
    expect(flags("exec")).toBe("0 0 0");
  });

  it("the terminal queries a program asked before are not asked again by a replay: no stale answers typed into it; asked now, they are answered", async () => {
    const { env, tether, tmux, waitFor } = setup();
    cli(env, "ws", "create", "w");
    // As vim does as it starts: the terminal's version (DA2), the cursor position, the background colour; then `cat -v` shows what is typed.
    const queries = String.raw`\033[>c\033[6n\033]11;?\007`;
    tmux("new-session", "-d", "-s", "one", "-x", "80", "-y", "24", `${tether} pty w -- sh -c 'printf "${queries}"; echo asked; exec cat -v'; sleep 60`);
    await waitFor("one", "asked");
    // Asked live, tmux answers (its version is 84): the answers are typed, and cat shows them with the line.
    tmux("send-keys", "-t", "one", "first", "Enter");
    await waitFor("one", /84;0;0c.*first/);
    tmux("send-keys", "-t", "one", "C-\\");
    await waitFor("one", "detached from pty");

    const [pty] = JSON.parse(cli(env, "pty", "ls", "--json")) as { id: string }[];
    tmux("new-session", "-d", "-s", "two", "-x", "80", "-y", "24", `${tether} pty attach ${pty!.id}; sleep 60`);
    await waitFor("two", "first");
    tmux("send-keys", "-t", "two", "second", "Enter");
    // The line cat prints (and the terminal's echo before it) is what was typed alone.
    const shown = await waitFor("two", /second\n(.*\n)*.*second/);
    expect(shown).not.toMatch(/\^\[.*second/);
    expect(shown).toMatch(/^second\n(.*\n)*second$/m);
  });

  it("exec attach, a viewer, asks its terminal none of the program's queries: nothing is left typed into the shell after it", async () => {
    const { env, tether, tmux, waitFor } = setup();
    cli(env, "ws", "create", "w");
    tmux("new-session", "-d", "-s", "exec", "-x", "80", "-y", "24", `${tether} exec -t w -- sh -c 'printf "\\033[>c\\033[6n"; echo asked; sleep 600'; sleep 60`);
    await waitFor("exec", "asked");
    const [exec] = JSON.parse(cli(env, "exec", "ls", "w", "--json")) as { id: string }[];
    // After the viewer (the output so far, then it ends: no Ctrl-C to flush the terminal's input), a shell
    // reads what waits on the terminal's input (a character at a time: the answers end no line): tmux's answers, had it been asked.
    tmux("new-session", "-d", "-s", "viewer", "-x", "80", "-y", "24", `${tether} exec attach ${exec!.id} --no-follow; bash -c 'read -t 1 -r -n 64 line; printf "typed:%q.\\n" "$line"'; sleep 60`);
    expect(await waitFor("viewer", /typed:.*\./)).toContain("typed:''.");
  });

  it("resizing the window resizes the PTY; closing the terminal detaches and the program goes on", async () => {
    const { env, tether, tmux, waitFor } = setup();
    cli(env, "ws", "create", "w");
    tmux("new-session", "-d", "-s", "one", "-x", "100", "-y", "30", `${tether} pty w -- sh`);
    await waitFor("one", "#");
    tmux("resize-window", "-t", "one", "-x", "90", "-y", "25");
    tmux("send-keys", "-t", "one", "stty size", "Enter");
    await waitFor("one", "25 90");
    // Wider than the daemon takes (1000 columns): the PTY is as wide as it may be, and the client stays (it was cut off).
    tmux("resize-window", "-t", "one", "-x", "1200", "-y", "25");
    await eventually(() => ((JSON.parse(cli(env, "pty", "ls", "--json")) as { size: { cols: number } }[])[0]?.size.cols === 1000 ? true : undefined));
    tmux("send-keys", "-t", "one", "clear; stty size", "Enter");
    await waitFor("one", "25 1000");
    tmux("kill-session", "-t", "one");
    await eventually(() => {
      const [pty] = JSON.parse(cli(env, "pty", "ls", "--json")) as { state: string; attached_clients: number; size: { cols: number } }[];
      return pty?.state === "open" && pty.attached_clients === 0 ? pty : undefined;
    });
  });

  it("pty send --idle prints what the program writes after the keys until it pauses that long (a command done, its prompt back); with --until, a pause before the line is a failure; pty read --idle too", () => {
    const { env } = setup();
    cli(env, "ws", "create", "w");
    const id = cli(env, "pty", "w", "-d", "--", "sh").trim();
    const send = (...args: string[]) => spawnSync(process.execPath, [CLI_ENTRY, "pty", "send", id, ...args], { env, encoding: "utf8" });
    const lines = (out: string): string[] => out.replace(/\r/g, "").split("\n");
    // A pause shorter than --idle inside the command's output: both its lines.
    const both = send("--enter", "echo first; sleep 0.5; echo second", "--idle", "2s");
    expect(both.status).toBe(0);
    expect(lines(both.stdout)).toEqual(expect.arrayContaining(["first", "second"]));
    // One longer: up to the pause, the rest still to come.
    const began = Date.now();
    const early = send("--enter", "sleep 3; echo late", "--idle", "700ms");
    expect([early.status, lines(early.stdout).includes("late"), Date.now() - began < 2500]).toEqual([0, false, true]);
    const failed = send("--enter", "sleep 3; echo done", "--until", "^done", "--idle", "700ms");
    expect([failed.status, failed.stderr]).toEqual([1, `tether: pty ${id}'s output paused for 700ms without a line matching /^done/\n`]);
    const read = spawnSync(process.execPath, [CLI_ENTRY, "pty", "read", id, "--idle", "4s"], { env, encoding: "utf8" });
    // The line typed ahead ran once the one before was done: its output after the prompt the shell printed then.
    expect([read.status, lines(read.stdout).includes("late"), lines(read.stdout).some((line) => /^(?:[#$] )?done$/.test(line))]).toEqual([0, true, true]);
    cli(env, "pty", "kill", id);
  });

  it("pty --label tags a terminal; pty ls --label finds it (a LABELS column once one has labels, --json says them); pty kill --label closes every open one with them", () => {
    const { env } = setup();
    cli(env, "ws", "create", "w");
    const mine = cli(env, "pty", "w", "-d", "--label", "agent=a1", "-l", "role=shell", "--", "sleep", "60").trim();
    const theirs = cli(env, "pty", "w", "-d", "-l", "agent=a2", "--", "sleep", "60").trim();
    const plain = cli(env, "pty", "w", "-d", "--", "sleep", "60").trim();
    expect(cli(env, "pty", "ls")).toMatch(new RegExp(`^PTY\\s+NAME\\s+WORKSPACE\\s+STATE\\s+SIZE\\s+CLIENTS\\s+OPENED\\s+LABELS\\s+COMMAND\\n(.*\\n)*${mine}\\s+w\\s+open\\s+80x24\\s+0\\s+\\d+s ago\\s+agent=a1,role=shell\\s+sleep 60\\n`));
    expect(JSON.parse(cli(env, "pty", "ls", "--label", "agent=a1", "--json"))).toEqual([expect.objectContaining({ id: mine, labels: { agent: "a1", role: "shell" } })]);
    expect(cli(env, "pty", "kill", "--label", "agent").split("\n").sort()).toEqual(["", `closed ${mine} (SIGHUP)`, `closed ${theirs} (SIGHUP)`].sort());
    expect(JSON.parse(cli(env, "pty", "ls", "--json")).map((p: { id: string }) => p.id)).toEqual([plain]);
    expect(cliResult(env, "pty", "kill", "--label", "agent")).toEqual({ status: 0, stderr: "no open PTY has the labels agent\n" });
    cli(env, "pty", "kill", plain);
  });

  it("pty -d opens a terminal nobody attaches and prints its id; pty send types into it, keys by name too (tmux send-keys), pty resize sizes it, pty read reads it; a client attached meanwhile sees it", async () => {
    const { env, tether, tmux, waitFor, screen } = setup();
    cli(env, "ws", "create", "w");
    const id = cli(env, "pty", "w", "-d", "--", "sh").trim();
    expect(id).toMatch(/^p-\w+$/);
    expect(JSON.parse(cli(env, "pty", "ls", "--json"))[0]).toMatchObject({ id, state: "open", attached_clients: 0, size: { cols: 80, rows: 24 } });
    // --size, as tmux new -d -x -y: the program sees it from its start.
    const wide = cli(env, "pty", "w", "-d", "--size", "132x40", "--", "sh", "-c", "stty size; sleep 30").trim();
    await eventually(() => (spawnSync(process.execPath, [CLI_ENTRY, "pty", "read", wide, "--no-follow"], { env, encoding: "utf8" }).stdout.includes("40 132\r\n") ? true : undefined));
    expect(cliResult(env, "pty", "w", "-d", "--size", "0x40")).toMatchObject({ status: 1, stderr: "tether: terminal size 0x40 is out of range: columns and rows must each be 1-1000\n" });
    expect(cliResult(env, "pty", "w", "--size", "80x20").stderr).toMatch(/^tether: --size sets the size of a PTY opened with -d/);
    expect(cliResult(env, "pty", "w", "-d", "--size", "100x")).toMatchObject({ status: 2, stderr: 'tether: --size is COLSxROWS, as 200x50: got "100x"\n' });
    cli(env, "pty", "kill", wide);
    tmux("new-session", "-d", "-s", "watch", "-x", "80", "-y", "24", `${tether} pty attach ${id} --read-only; echo "rc=$?"; sleep 60`);
    const send = (input: string | undefined, ...args: string[]) =>
      spawnSync(process.execPath, [CLI_ENTRY, "pty", "send", id, ...args], { env, encoding: "utf8", input });
    expect(send(undefined, "--enter", "echo", "sent-$((40+2))").status).toBe(0);
    await waitFor("watch", "sent-42");
    // A script reads it without attaching: what is stored so far, bytes as the program wrote them.
    await eventually(() => (spawnSync(process.execPath, [CLI_ENTRY, "pty", "read", id, "--no-follow"], { env, encoding: "utf8" }).stdout.includes("sent-42\r\n") ? true : undefined));
    expect(cli(env, "pty", "resize", id, "120x40")).toBe(`${id} 120x40\n`);
    // --line, as tether send and exec send take it, ends the line with Enter too.
    expect(send(undefined, "--line", "stty", "size").status).toBe(0);
    await waitFor("watch", "40 120");
    // Keys by name: a running command interrupted with C-c, then a line typed and Enter.
    expect(send(undefined, "-k", "sleep 31.5", "Enter").status).toBe(0);
    await eventually(() => (spawnSync("pgrep", ["-f", "sleep 31.5"]).status === 0 ? true : undefined));
    expect(send(undefined, "-k", "C-c").status).toBe(0);
    expect(send(undefined, "-k", "echo keyed-$((5*5))", "Enter").status).toBe(0);
    await waitFor("watch", "keyed-25");
    expect(spawnSync("pgrep", ["-f", "sleep 31.5"]).status).toBe(1);
    expect(send(undefined, "-k", "-").stderr).toBe("tether: -k types the words as keys; - (stdin) goes without -k\n");
    // From stdin, bytes as they are: a newline is Enter to a shell's terminal too.
    expect(send("echo piped-$((6*7))\nexit 3\n", "-").status).toBe(0);
    await waitFor("watch", "rc=3");
    expect(screen("watch")).toContain("piped-42");
    const all = spawnSync(process.execPath, [CLI_ENTRY, "pty", "read", id, "--from", "0"], { env, encoding: "utf8" });
    expect(all.status).toBe(3);
    expect(all.stdout).toMatch(/sent-42\r\n[\s\S]*piped-42\r\n/);
    const late = send(undefined, "too late");
    expect([late.status, late.stderr]).toEqual([1, `tether: pty ${id} is closed (its program ended): tether pty attach ${id} shows its last output\n`]);
    expect(send(undefined).status).toBe(2);
  });

  it("pty capture prints the screen as text (tmux capture-pane -p): a shell's last rows after far more output than the replay holds, a full-screen program's screen and cursor, redrawn when its drawing is older than the replay, a closed PTY's last screen", async () => {
    const { env } = setup();
    cli(env, "ws", "create", "w");
    const screenOf = (id: string): { lines: string[]; cursor: { x: number; y: number }; alternate_screen: boolean; cols: number; rows: number } =>
      JSON.parse(cli(env, "pty", "capture", id, "--json"));
    // ~590 KB of lines, the replay 64 KiB of it: the screen is the last 23 and the cursor's row below them.
    const lines = cli(env, "pty", "w", "-d", "--", "sh", "-c", "seq 1 100000; echo end; sleep 60").trim();
    await eventually(() => (screenOf(lines).lines.includes("end") ? true : undefined));
    const shown = cli(env, "pty", "capture", lines);
    expect(shown).toBe([...Array.from({ length: 22 }, (_, i) => String(99979 + i)), "end", ""].map((line) => `${line}\n`).join(""));
    expect(screenOf(lines)).toMatchObject({ cols: 80, rows: 24, cursor: { x: 0, y: 23 }, alternate_screen: false, scrollback: [] });
    // With the lines above the screen, as tmux capture-pane -S -N gives them.
    expect(cli(env, "pty", "capture", lines, "-S", "3").split("\n").slice(0, 5)).toEqual(["99976", "99977", "99978", "99979", "99980"]);
    // Further back than the replay reaches: read from where that many lines begin.
    const deep = JSON.parse(cli(env, "pty", "capture", lines, "-S", "20000", "--json")) as { scrollback: string[] };
    expect(deep.scrollback).toEqual(Array.from({ length: 20_000 }, (_, i) => String(79_979 + i)));
    // Lines of more bytes than that read expects (20 characters, each in its own colour sequence: ~230 bytes):
    // the read starts inside a line, perhaps inside a sequence, and what it shows starts at the next line.
    const coloured = String.raw`l=""; j=0; while [ $j -lt 20 ]; do l="$l\033[3$((j % 7 + 1))m#\033[0m"; j=$((j+1)); done; i=0; while [ $i -lt 500 ]; do printf "$l\n"; i=$((i+1)); done; echo end; sleep 60`;
    const long = cli(env, "pty", "w", "-d", "--", "sh", "-c", coloured).trim();
    await eventually(() => (screenOf(long).lines.includes("end") ? true : undefined));
    const rows = (JSON.parse(cli(env, "pty", "capture", long, "-S", "400", "--json")) as { scrollback: string[] }).scrollback;
    expect(rows.length).toBeGreaterThan(100);
    expect(rows.length).toBeLessThan(400);
    expect(new Set(rows)).toEqual(new Set(["#".repeat(20)]));
    cli(env, "pty", "kill", long);

    // A full-screen program: the alternate screen, drawn at positions, the cursor left after "top".
    const full = cli(env, "pty", "w", "-d", "--", "sh", "-c", String.raw`printf 'below\n'; printf '\033[?1049h\033[2J\033[5;10Hhello\033[1;1Htop'; sleep 60`).trim();
    const drawn = await eventually(() => {
      const screen = screenOf(full);
      return screen.lines[0] === "top" ? screen : undefined;
    });
    expect(drawn.lines[4]).toBe("         hello");
    expect(drawn.lines.filter((line) => line !== "")).toEqual(["top", "         hello"]);
    expect(drawn).toMatchObject({ cursor: { x: 3, y: 0 }, alternate_screen: true });

    // A full-screen program whose whole drawing is older than the replay (it has drawn only a
    // changing line since): asked to draw again (SIGWINCH, as an attach asks), it shows all of it.
    const drawer = [
      "status=start",
      String.raw`draw() { printf '\033[2J\033[1;1HHEADER\033[2;1H%s' "$status"; }`,
      "trap draw WINCH",
      String.raw`printf '\033[?1049h'; draw`,
      String.raw`i=0; while [ $i -lt 8000 ]; do printf '\033[2;1Hcount %05d' $i; i=$((i+1)); done`,
      String.raw`status=done; printf '\033[2;1H%s       ' "$status"`,
      "while :; do sleep 0.1; done",
    ].join("\n");
    const partial = cli(env, "pty", "w", "-d", "--", "sh", "-c", drawer).trim();
    await eventually(() => (JSON.parse(cli(env, "pty", "capture", partial, "--json", "--no-redraw")).lines[1] === "done" ? true : undefined));
    expect(JSON.parse(cli(env, "pty", "capture", partial, "--json", "--no-redraw")).lines.slice(0, 2)).toEqual(["", "done"]);
    expect(cli(env, "pty", "capture", partial).split("\n").slice(0, 3)).toEqual(["HEADER", "done", ""]);
    cli(env, "pty", "kill", partial);

    // Closed: the screen its last output left.
    cli(env, "pty", "kill", full);
    const closed = cli(env, "pty", "w", "-d", "--", "sh", "-c", "echo last words").trim();
    await eventually(() => (JSON.parse(cli(env, "pty", "ls", "--all", "--json")).find((p: { id: string }) => p.id === closed)?.state === "closed" ? true : undefined));
    expect(screenOf(closed).lines[0]).toBe("last words");
    const missing = spawnSync(process.execPath, [CLI_ENTRY, "pty", "capture", "p-nope"], { env, encoding: "utf8" });
    expect([missing.status, missing.stderr]).toEqual([1, 'tether: no pty "p-nope": tether pty ls lists them\n']);
    cli(env, "pty", "kill", lines);
  });
});

