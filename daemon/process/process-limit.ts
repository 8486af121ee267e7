import { readFileSync } from "node:fs";

/**
 * Why no process could be created (fork's EAGAIN, which Node and node-pty
 * give as EWOULDBLOCK or "forkpty(3) failed."), and what to do: the limit
 * named with its value, as /proc/self/limits says it.
 */
export function noProcessLeft(): string {
  const limit = processLimit();
  const limits = [
    // Root is held by no ulimit -u.
    ...(process.getuid?.() === 0 ? [] : [`your user's process limit${limit === undefined ? "" : ` (ulimit -u: ${limit}, threads counted)`}`]),
    "a cgroup's (systemd's TasksMax=, a container's pids limit)",
    "the system's (kernel.threads-max, kernel.pid_max)",
  ];
  return `no process could be created: ${limits.join(", or ")} is reached: end some processes, or raise the limit and restart the daemon`;
}

/** The daemon's soft limit on its user's processes (RLIMIT_NPROC); undefined when unlimited or unknown. */
function processLimit(): string | undefined {
  try {
    const line = readFileSync("/proc/self/limits", "utf8").split("\n").find((l) => l.startsWith("Max processes"));
    const soft = line?.slice("Max processes".length).trim().split(/\s+/)[0];
    return soft === undefined || soft === "unlimited" ? undefined : soft;
  } catch {
    return undefined;
  }
}
