import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { CLI_ENTRY, cliEnvPerTest } from "../helpers/daemon.js";
import { writeTaskFile } from "../helpers/sessions.js";
import { terminalsPerTest } from "../helpers/terminals.js";

const freshEnv = cliEnvPerTest();
const terminals = terminalsPerTest();

function cli(env: NodeJS.ProcessEnv, cwd: string, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI_ENTRY, ...args], { env, cwd, encoding: "utf8", timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** What Tab would offer after `tether WORDS...` (the last word the one being completed). */
function offered(env: NodeJS.ProcessEnv, cwd: string, ...words: string[]): string[] {
  const r = cli(env, cwd, "__complete", ...words);
  expect(r.status).toBe(0);
  return r.stdout.split("\n").filter((line) => line !== "");
}

/** A directory with a `tether` on PATH that runs the built CLI, as an installed one would. */
function tetherOnPath(): string {
  const bin = mkdtempSync(join(tmpdir(), "tether-bin-"));
  writeFileSync(join(bin, "tether"), `#!/bin/sh\nexec ${process.execPath} ${CLI_ENTRY} "$@"\n`);
  chmodSync(join(bin, "tether"), 0o755);
  return bin;
}

const TASKS = `tasks:
  build:prod: { cmd: "echo prod", inputs: { dry: { type: bool, default: "true" } } }
  build:dev: { cmd: "echo dev" }
  test: { cmd: "true" }
  deploy:
    cmd: "true"
    upstream: [build:prod]
    inputs: { target: { type: choice, choices: [staging, live], default: staging }, note: { default: "" } }
`;

describe("completion (tether completion SHELL)", () => {
  it("offers commands, subcommands, options and their words, and the daemon's sessions, workspaces, execs, PTYs, the task file's tasks and a run's inputs", () => {
    const env = freshEnv();
    const dir = dirname(writeTaskFile(TASKS));
    // With no daemon: commands and options, and no daemon started by a Tab.
    expect(offered(env, dir, "")).toEqual(expect.arrayContaining(["run", "exec", "pty", "ws", "completion", "help"]));
    expect(offered(env, dir, "e")).toEqual(["exec", "events"]);
    expect(offered(env, dir, "exec", "attach", "")).toEqual([]);
    expect(cli(env, dir, "daemon", "status").status).toBe(1);
    expect(offered(env, dir, "logs", "s-1", "--t")).toEqual(["--task", "--tail"]);
    expect(offered(env, dir, "ws", "create", "box", "--sandbox", "")).toEqual(["host", "bwrap"]);
    expect(offered(env, dir, "ls", "--status", "c")).toEqual(["closed", "cancelled"]);
    expect(offered(env, dir, "exec", "kill", "e-1", "--signal", "SIGK")).toEqual(["SIGKILL"]);
    expect(offered(env, dir, "exec", "box", "--restart", "")).toEqual(["no", "on-failure", "always", "unless-stopped"]);
    expect(offered(env, dir, "daemon", "st")).toEqual(["start", "stop", "status"]);
    expect(offered(env, dir, "completion", "")).toEqual(["bash", "zsh", "fish"]);
    expect(offered(env, dir, "help", "pt")).toEqual(["pty"]);

    // With one: what it holds.
    expect(cli(env, dir, "ws", "create", "box").status).toBe(0);
    const exec = cli(env, dir, "exec", "box", "-d", "--name", "web", "--", "sleep", "30").stdout.trim();
    const pty = cli(env, dir, "pty", "box", "-d", "--", "sleep", "30").stdout.trim();
    const session = cli(env, dir, "run", "test", "-d").stdout.trim();
    expect([exec, pty, session]).toEqual([expect.stringMatching(/^e-/), expect.stringMatching(/^p-/), expect.stringMatching(/^s-/)]);
    expect(offered(env, dir, "exec", "")).toEqual(expect.arrayContaining(["attach", "kill", "box"]));
    expect(offered(env, dir, "exec", "attach", "")).toEqual(["web", exec]);
    expect(offered(env, dir, "exec", "rm", exec, "")).toEqual(["web", exec]);
    expect(offered(env, dir, "pty", "attach", "--read-only", "")).toEqual([pty]);
    expect(offered(env, dir, "ws", "show", "b")).toContain("box");
    expect(offered(env, dir, "show", "")).toEqual([session]);
    expect(offered(env, dir, "run", "build:")).toEqual(["build:prod", "build:dev"]);
    expect(offered(env, dir, "run", "--ws", "")).toContain("box");
    expect(offered(env, dir, "xcom", "get", "--session", "")).toEqual([session]);
    expect(offered(env, dir, "run", "deploy", "--after", "")).toEqual([session]);
    expect(offered(env, dir, "exec", "box", "--after", "")).toEqual(["web", exec]);
    // A run's inputs, its upstreams' too, with the values a choice or a bool takes; attach's --input is a stream.
    expect(offered(env, dir, "run", "deploy", "--input", "")).toEqual(["dry=", "dry=true", "dry=false", "target=", "target=staging", "target=live", "note="]);
    expect(offered(env, dir, "run", "deploy", "--input", "target=")).toEqual(["target=staging", "target=live"]);
    expect(offered(env, dir, "attach", session, "--input", "")).toEqual([]);
    // After WS and after --: the command it runs, for the shell to complete.
    expect(offered(env, dir, "exec", "box", "")).toEqual([]);
    expect(offered(env, dir, "pty", "box", "--", "")).toEqual([]);
    expect(cli(env, dir, "completion", "tcsh")).toMatchObject({ status: 2, stderr: expect.stringContaining("the shells are bash, zsh, fish") });
  });

  it("completes on Tab in bash, zsh and fish: a subcommand, an exec's id, a task whose name has a colon, an input's NAME= and its value", async () => {
    const { env, tmux, waitFor } = terminals();
    const dir = dirname(writeTaskFile(TASKS));
    expect(cli(env, dir, "ws", "create", "box").status).toBe(0);
    const exec = cli(env, dir, "exec", "box", "-d", "--", "sleep", "30").stdout.trim();
    const path = `${tetherOnPath()}:${process.env["PATH"]}`;
    const shells = [
      ["bash", "bash --norc --noprofile", "source <(tether completion bash)"],
      ["zsh", "zsh -f", "autoload -Uz compinit && compinit -u && source <(tether completion zsh)"],
      ["fish", "fish --no-config", "tether completion fish | source"],
    ].filter(([shell]) => spawnSync("sh", ["-c", `command -v ${shell}`]).status === 0);
    expect(shells.map(([shell]) => shell)).toContain("bash");
    for (const [shell, start, setup] of shells) {
      const pane = shell!;
      tmux("new-session", "-d", "-s", pane, "-x", "150", "-y", "30", "-c", dir, `env PATH='${path}' HOME='${dir}' ${start}`);
      tmux("send-keys", "-t", pane, `${setup}; echo set-up`, "Enter");
      await waitFor(pane, /^set-up$/m);
      tmux("send-keys", "-t", pane, "tether exec att", "Tab");
      await waitFor(pane, "tether exec attach ");
      tmux("send-keys", "-t", pane, "Tab");
      await waitFor(pane, `tether exec attach ${exec}`);
      tmux("send-keys", "-t", pane, "C-u", "tether run build:p", "Tab");
      await waitFor(pane, /tether run build:prod *$/m);
      // NAME= then its value, no space between (bash would break the word at the =).
      tmux("send-keys", "-t", pane, "C-u", "tether run deploy ");
      tmux("send-keys", "-t", pane, "-H", "2d", "2d");
      tmux("send-keys", "-t", pane, "input targ", "Tab");
      await waitFor(pane, /--input target=$/m);
      tmux("send-keys", "-t", pane, "l", "Tab");
      await waitFor(pane, /--input target=live *$/m);
      tmux("send-keys", "-t", pane, "C-u");
    }
  });
});
