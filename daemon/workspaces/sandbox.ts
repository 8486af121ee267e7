import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { Code } from "@connectrpc/connect";
import { TetherError } from "../errors.js";
import type { SandboxProfile } from "./types.js";

/** What a sandboxed process needs to know about its workspace. */
export interface SandboxSpec {
  readonly id: string;
  readonly sandbox: SandboxProfile;
  readonly root: string;
  readonly noNetwork: boolean;
}

/**
 * What every sandboxed process sees of the daemon besides its workspace, so
 * `tether` works inside: the CLI shim's directory (read-only), and at the
 * daemon's socket path the sandbox's own socket (the file itself, so the
 * sandbox cannot remove it), on which the daemon serves only what a
 * sandboxed command may call: reads, and sessions' streams, waits and xcom.
 * With the daemon's own socket, a command could start an exec on the host.
 */
export interface SandboxHost {
  readonly readOnly: readonly string[];
  readonly socket: { readonly host: string; readonly inside: string };
  /** The argv prefix that puts a process into a --no-network workspace's own network (see WorkspaceNetworks). */
  readonly network: (workspaceId: string) => readonly string[];
}

const probes = new Map<string, string | undefined>();

/**
 * Refuses a profile this machine cannot provide, with what to do about it.
 * bubblewrap is probed once per daemon (a real sandbox running `true`), so
 * a missing binary and disabled user namespaces are both caught.
 */
export function requireSandbox(spec: Pick<SandboxSpec, "sandbox" | "noNetwork">): void {
  if (spec.sandbox === "host") return;
  const key = spec.noNetwork ? "bwrap-nonet" : "bwrap";
  if (!probes.has(key)) probes.set(key, probeBwrap(spec.noNetwork));
  const problem = probes.get(key);
  if (problem !== undefined) {
    throw new TetherError(Code.FailedPrecondition, "SANDBOX_UNAVAILABLE", `this machine cannot provide the bwrap sandbox: ${problem}`, { sandbox: "bwrap" });
  }
}

/**
 * The signals bwrap's own process ignores and the command inside gets back
 * at their default action (see sandboxArgv): what a terminal, `kill`,
 * `tether exec kill`, a cancel or `ws stop` send to a process group.
 */
const PASSED_SIGNALS = "HUP,INT,QUIT,TERM,USR1,USR2";

/**
 * The argv that runs `argv` in the workspace's sandbox. bwrap: the whole
 * filesystem read-only, the workspace read-write, a fresh /dev, /proc and a
 * private /tmp; with no network, in the workspace's own network (a loopback
 * every process of the workspace shares, see WorkspaceNetworks). Its own PID namespace too: with the host's
 * processes in its /proc, a command could write anywhere through
 * /proc/PID/root of any process of the same user (the daemon's included). The process stays in the caller's process group (no
 * --new-session), so signals to the group reach everything inside.
 *
 * bwrap stays as the command's parent, in its group, and would die of the
 * first SIGINT or SIGTERM sent to the group whatever the command does with
 * it: Ctrl-C would end a program that catches it (and, bwrap leading a
 * terminal's session, hang it up), and a command still shutting down would
 * be recorded ended. So bwrap runs with those signals ignored (coreutils'
 * `env --ignore-signal`) and the command with them at their defaults again
 * (`env --default-signal`), as it would be on the host: bwrap then lives
 * exactly as long as the command, and exits with its status (128+N when a
 * signal N killed it). Where env lacks those options, bwrap runs as it is.
 */
export function sandboxArgv(spec: SandboxSpec, host: SandboxHost, argv: readonly string[], cwd: string): string[] {
  if (spec.sandbox === "host") return [...argv];
  const passes = envPassesSignals();
  const network = spec.noNetwork ? host.network(spec.id) : [];
  const args = [...network, ...(passes ? ["env", `--ignore-signal=${PASSED_SIGNALS}`] : []), "bwrap", "--unshare-pid", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"];
  if (HIDE_RUN) args.push("--tmpfs", "/run", "--ro-bind-try", "/run/systemd/resolve", "/run/systemd/resolve");
  for (const path of host.readOnly) args.push("--ro-bind-try", path, path);
  args.push("--bind-try", host.socket.host, host.socket.inside);
  args.push("--bind", spec.root, spec.root, "--chdir", cwd);
  args.push("--", ...(passes ? ["env", `--default-signal=${PASSED_SIGNALS}`] : []), ...argv);
  return args;
}

/**
 * /run is hidden behind an empty tmpfs (but for systemd-resolved's
 * resolv.conf, which /etc/resolv.conf may point into): the sockets there
 * would let a command leave its sandbox without the network, and a socket
 * bound read-only can still be connected to: the user's D-Bus session bus
 * (systemd-run --user starts anything), docker.sock, a database's socket.
 */
const HIDE_RUN = existsSync("/run");

let envSignals: boolean | undefined;

/** Whether this machine's env can ignore and reset signals (GNU coreutils 8.31 and later), probed once. */
function envPassesSignals(): boolean {
  envSignals ??= spawnSync("env", [`--ignore-signal=${PASSED_SIGNALS}`, "env", `--default-signal=${PASSED_SIGNALS}`, "true"], { timeout: 10_000 }).status === 0;
  return envSignals;
}

function probeBwrap(noNetwork: boolean): string | undefined {
  const args = ["--unshare-pid", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", ...(noNetwork ? ["--unshare-net"] : []), "true"];
  const result = spawnSync("bwrap", args, { encoding: "utf8", timeout: 10_000 });
  if (result.error !== undefined) {
    const missing = (result.error as NodeJS.ErrnoException).code === "ENOENT";
    return missing ? "bubblewrap is not installed (apt-get install bubblewrap), or bwrap is not on the daemon's PATH" : `bwrap could not run: ${result.error.message}`;
  }
  if (result.status !== 0) {
    const said = result.stderr.trim().split("\n").at(-1) ?? "";
    return `bwrap failed (${said || `exit ${result.status}`}): user namespaces are probably off; enable them (sysctl kernel.unprivileged_userns_clone=1) or use the host profile`;
  }
  return undefined;
}
