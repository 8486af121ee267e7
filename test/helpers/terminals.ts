import { spawnSync } from "node:child_process";
import { afterEach } from "vitest";
import { CLI_ENTRY, tempDirs } from "./daemon.js";
import { eventually } from "./sessions.js";

export interface Terminals {
  /** The CLI's environment (its own daemon, NO_COLOR, a real TERM). */
  readonly env: NodeJS.ProcessEnv;
  /** The command line that runs the built CLI. */
  readonly tether: string;
  tmux(...args: string[]): string;
  /** What the pane shows now. */
  screen(pane: string): string;
  /** What the pane shows once it shows `text` (fails after 15 s). */
  waitFor(pane: string, text: string | RegExp): Promise<string>;
}

/**
 * Real terminals for a test file: each test that calls the returned function
 * drives the CLI inside tmux panes on a tmux server of its own, with a daemon
 * of its own; both are stopped after the test.
 */
export function terminalsPerTest(): () => Terminals {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const cleanup of cleanups.splice(0)) cleanup();
  });
  return () => {
    const dirs = tempDirs();
    // The same shells whoever runs the tests: tmux runs each pane's command
    // with bash (dash, a non-root user's login shell on Debian, dies of the
    // Ctrl-C sent to its child instead of running the `; echo "rc=$?"` after
    // it), and sh prompts `# ` for any user (its `$ ` but for root).
    const env = { ...process.env, TETHER_HOME: dirs.home, TETHER_SOCKET: dirs.socketPath, NO_COLOR: "1", TERM: "xterm-256color", SHELL: "/bin/bash", PS1: "# " };
    const server = `tether-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    const tmux = (...args: string[]): string => spawnSync("tmux", ["-L", server, ...args], { env, encoding: "utf8" }).stdout;
    cleanups.push(() => {
      tmux("kill-server");
      spawnSync(process.execPath, [CLI_ENTRY, "daemon", "stop"], { env });
    });
    const screen = (pane: string): string => tmux("capture-pane", "-p", "-J", "-t", pane);
    const waitFor = (pane: string, text: string | RegExp): Promise<string> =>
      eventually(() => {
        const shown = screen(pane);
        return (typeof text === "string" ? shown.includes(text) : text.test(shown)) ? shown : undefined;
      }, 15_000);
    return { env, tether: `${process.execPath} ${CLI_ENTRY}`, tmux, screen, waitFor };
  };
}
