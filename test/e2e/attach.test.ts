import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { dirname } from "node:path";
import { describe, expect, it } from "vitest";
import { CLI_ENTRY, cliEnvPerTest } from "../helpers/daemon.js";
import { writeTaskFile } from "../helpers/sessions.js";
import { terminalsPerTest } from "../helpers/terminals.js";

const freshEnv = cliEnvPerTest({ NO_COLOR: "1" });
const terminals = terminalsPerTest();

function cli(env: NodeJS.ProcessEnv, cwd: string, args: string[], input?: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI_ENTRY, ...args], { env, cwd, input, encoding: "utf8", timeout: 60_000, maxBuffer: 1 << 26 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("tether attach, send and read (the built CLI)", () => {
  it("100,000 lines piped into tether attach reach the task's stdin whole and in order while their records come back as events, and attach exits with the session's code", () => {
    const env = freshEnv();
    const dir = dirname(
      writeTaskFile(`
tasks:
  digest:
    stdin: stream
    cmd: head -n 100000 | md5sum
`),
    );
    const id = cli(env, dir, ["run", "-d", "digest"]).stdout.trim();
    const lines = Array.from({ length: 100_000 }, (_, i) => `line ${i + 1}`).join("\n") + "\n";
    // The client's inputs and the daemon's answers and events each fill a socket's buffer many times over.
    const attached = cli(env, dir, ["attach", id], lines);
    expect(attached.stderr).toContain(`attached to ${id}`);
    expect(attached.status).toBe(0);
    expect(attached.stdout).toContain(createHash("md5").update(lines).digest("hex"));
    expect(attached.stdout.match(/^stdin#\d+ /gm)?.length).toBe(100_000);
    expect(JSON.parse(cli(env, dir, ["show", id, "--json"]).stdout).streams).toContainEqual({ name: "stdin", direction: "input", records: 100000, first_sequence: 1 });
  });

  it("on a terminal, a typed line goes to the --input stream and starts a keep_open continuation, whose last line shows when it ends; Ctrl-D stops sending, not showing; Ctrl-C detaches, saying where to come back", async () => {
    const { env, tether, tmux, waitFor } = terminals();
    // The reply ends without a newline: it is shown whole once its run has ended, not held until attach ends.
    const dir = dirname(writeTaskFile(`tasks:\n  chat:\n    keep_open: true\n    streams: { msg: input }\n    cmd: 'printf "reply to $(tether wait msg)"'\n`));
    const id = cli(env, dir, ["run", "chat", "-d"]).stdout.trim();
    tmux("new-session", "-d", "-s", "attach", "-x", "120", "-y", "30", "-c", dir, `${tether} attach ${id} --input msg; echo "rc=$?"; sleep 60`);
    await waitFor("attach", "waiting for input on msg");
    expect(cli(env, dir, ["ls"]).stdout).toMatch(new RegExp(`^${id}  chat  open/waiting: input on msg \\(run 1\\)`, "m"));
    tmux("send-keys", "-t", "attach", "hello there", "Enter");
    await waitFor("attach", "chat | reply to hello there");
    tmux("send-keys", "-t", "attach", "again", "Enter");
    await waitFor("attach", "chat | reply to again");
    // Ctrl-D ends what is sent, not the attach: it says so and goes on showing the session.
    tmux("send-keys", "-t", "attach", "C-d");
    await waitFor("attach", "stdin ended: nothing more is sent, attach goes on");
    expect(cli(env, dir, ["send", id, "msg", "third"]).status).toBe(0);
    await waitFor("attach", "chat | reply to third");
    tmux("send-keys", "-t", "attach", "C-c");
    const shown = await waitFor("attach", /^rc=\d+$/m);
    expect(shown).toMatch(new RegExp(`detached from ${id}; it goes on. Reattach from here with: tether attach ${id} --from \\d+`));
    expect(cli(env, dir, ["read", id, "msg"]).stdout).toBe("hello there\nagain\nthird\n");
    expect(cli(env, dir, ["close", id]).status).toBe(0);
  });

  it("attach --input naming no input stream of the session is refused at once, with the one meant", () => {
    const env = freshEnv();
    const dir = dirname(writeTaskFile("tasks:\n  hold:\n    streams: { inbox: input, outbox: output }\n    cmd: sleep 300\n"));
    const id = cli(env, dir, ["run", "-d", "hold"]).stdout.trim();
    const typo = cli(env, dir, ["attach", id, "--input", "inbx", "--no-output"], "a line\n");
    expect([typo.status, typo.stderr]).toEqual([2, `tether: session ${id} has no input stream "inbx" for --input: did you mean inbox? Its input streams are stdin, inbox\n`]);
    const output = cli(env, dir, ["attach", id, "--input", "outbox", "--no-output"], "a line\n");
    expect([output.status, output.stderr]).toEqual([2, `tether: session ${id} has no input stream "outbox" for --input: its input streams are stdin, inbox\n`]);
    expect(cli(env, dir, ["read", id, "inbox"]).stdout).toBe("");
    expect(cli(env, dir, ["cancel", id]).status).toBe(0);
  });

  it("tether send feeds a run's stdin its bytes as they are: --line adds the newline, an empty record closes it", () => {
    const env = freshEnv();
    const dir = dirname(writeTaskFile("tasks:\n  lines:\n    stdin: stream\n    cmd: cat; echo '|eof'\n"));
    const id = cli(env, dir, ["run", "-d", "lines"]).stdout.trim();
    expect(cli(env, dir, ["send", id, "stdin", "first", "--line"]).status).toBe(0);
    expect(cli(env, dir, ["send", id, "stdin", "no newline"]).status).toBe(0);
    expect(cli(env, dir, ["send", id, "stdin", ""]).status).toBe(0);
    expect(cli(env, dir, ["logs", "-f", id]).stdout).toBe("first\nno newline|eof\n");
  });

  it("tether send appends a record and tether read prints the stream; a refused send says why, a record over 4 MiB from stdin too", () => {
    const env = freshEnv();
    const dir = dirname(
      writeTaskFile(`
tasks:
  hold:
    streams: { inbox: input }
    cmd: sleep 300
`),
    );
    const id = cli(env, dir, ["run", "-d", "hold"]).stdout.trim();
    expect(cli(env, dir, ["send", id, "inbox", '{"ok":true}']).status).toBe(0);
    expect(cli(env, dir, ["send", id, "inbox", "second"]).status).toBe(0);
    expect(cli(env, dir, ["read", id, "inbox"]).stdout).toBe('{"ok":true}\nsecond\n');
    expect(cli(env, dir, ["read", id, "inbox", "--tail", "1"]).stdout).toBe("second\n");
    expect(cli(env, dir, ["read", id, "inbox", "-n", "5"]).stdout).toBe('{"ok":true}\nsecond\n');
    const refused = cli(env, dir, ["send", id, "outbox", "x"]);
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toContain("inbox (input)");
    // One record from stdin takes up to 4 MiB; past it the CLI says how to send several, before asking the daemon.
    const limit = 4 * 1024 * 1024;
    expect(cli(env, dir, ["send", id, "inbox", "-"], "x".repeat(limit)).status).toBe(0);
    const tooBig = cli(env, dir, ["send", id, "inbox", "-"], "x".repeat(limit + 1));
    expect([tooBig.status, tooBig.stderr]).toEqual([1, `tether: stdin holds more than 4 MiB, the most one record takes: split it into several records (tether attach ${id} --input inbox < FILE sends one per line)\n`]);
    expect(cli(env, dir, ["read", id, "inbox", "--tail", "1", "--json"]).stdout).toContain('"sequence":3');
    cli(env, dir, ["cancel", id]);
  });

  it("read -f -c 1 awaits the one reply to a request, as a script asks a session; --timeout exits 124 when none comes", () => {
    const env = freshEnv();
    const dir = dirname(
      writeTaskFile(`
tasks:
  bot:
    streams: { inbox: input, outbox: output }
    keep_open: true
    cmd: |
      while true; do
        c=$(tether wait inbox) || exit 1
        sleep 0.3
        tether output outbox "answer to $c" --correlation "$c"
      done
`),
    );
    const id = cli(env, dir, ["run", "-d", "bot"]).stdout.trim();
    expect(cli(env, dir, ["send", id, "inbox", "q1", "--correlation", "q1"]).status).toBe(0);
    // The reply comes 0.3 s after the request is taken: read -f waits for it and exits on it, not on the session's end.
    expect(cli(env, dir, ["read", id, "outbox", "-f", "--correlation", "q1", "-c", "1"])).toEqual({ status: 0, stdout: "answer to q1\n", stderr: "" });
    expect(cli(env, dir, ["send", id, "inbox", "q2", "--correlation", "q2"]).status).toBe(0);
    expect(cli(env, dir, ["read", id, "outbox", "-f", "-c", "2", "--json"]).stdout.split("\n").filter((l) => l !== "").map((l) => (JSON.parse(l) as { correlation_id: string }).correlation_id)).toEqual(["q1", "q2"]);
    expect(cli(env, dir, ["read", id, "outbox", "-f", "--correlation", "q3", "-c", "1", "--timeout", "500ms"])).toEqual({ status: 124, stdout: "", stderr: "tether: 0 of 1 record(s) by --timeout 500ms; the session goes on\n" });
    expect(cli(env, dir, ["read", id, "outbox", "--timeout", "1s"]).stderr).toBe("tether: --timeout is how long -f waits for records: add -f\n");
    expect(cli(env, dir, ["read", id, "outbox", "-c", "0"]).status).toBe(2);
    cli(env, dir, ["cancel", id]);
  });
});
