import type { Node, YAMLMap } from "yaml";
import { meantThen } from "../../common/closest-word.js";
import type { Report } from "./template-checks.js";

/** The keys a task, an input and a readiness check take. */
export const TASK_KEYS: ReadonlySet<string> = new Set(["cmd", "description", "upstream", "inputs", "env", "retries", "retry_delay", "timeout", "readiness", "condition", "keep_open", "result", "cwd", "streams", "stdin", "fail_fast", "workspace"]);
export const INPUT_KEYS: ReadonlySet<string> = new Set(["type", "default", "choices", "description"]);
export const READINESS_KEYS: ReadonlySet<string> = new Set(["http", "tcp", "cmd", "interval", "timeout"]);

/**
 * Reports each key of `map` not in `allowed`, naming what `what` may have: a
 * misspelt key (`retry:`, an input's `secret: true`) would otherwise be a
 * setting silently not applied.
 */
export function refuseUnknownKeys(map: YAMLMap, allowed: ReadonlySet<string>, what: string, report: Report): void {
  for (const pair of map.items) {
    const key = String((pair.key as Node & { value?: unknown }).value);
    if (allowed.has(key)) continue;
    const known = [...allowed];
    const then = `${what} may have ${known.join(", ")}`;
    const meant = Object.hasOwn(KEY_HINTS, key) ? KEY_HINTS[key] : undefined;
    report(pair.key as Node, `unknown key "${key}"; ${meant !== undefined && allowed.has(meant.key) ? `${then} (${meant.hint})` : meantThen(key, known, then)}`);
  }
}

/**
 * What a key tether does not take means to say, where tether spells it
 * another way (`key`): an input's required or secret flags, and the keys of
 * the files people come from (docker compose, GitHub Actions, GitLab CI,
 * Taskfile, just).
 */
const KEY_HINTS: Readonly<Record<string, { key: string; hint: string }>> = {
  secret: { key: "type", hint: "a secret input is type: secret" },
  required: { key: "default", hint: "an input without a default is required" },
  command: { key: "cmd", hint: "the command is cmd: a string for /bin/sh -c, or a list" },
  run: { key: "cmd", hint: "the command is cmd: a string for /bin/sh -c, or a list" },
  script: { key: "cmd", hint: "the command is cmd: a string for /bin/sh -c (a | block for several lines), or a list" },
  cmds: { key: "cmd", hint: "the command is cmd: one string (a | block for several lines), or a list of program and arguments" },
  depends_on: { key: "upstream", hint: "what a task waits for is upstream: [a, b]" },
  needs: { key: "upstream", hint: "what a task waits for is upstream: [a, b]" },
  deps: { key: "upstream", hint: "what a task waits for is upstream: [a, b]" },
  dependencies: { key: "upstream", hint: "what a task waits for is upstream: [a, b]" },
  environment: { key: "env", hint: "variables are env: { NAME: value }" },
  variables: { key: "env", hint: "variables are env: { NAME: value }" },
  vars: { key: "env", hint: "variables are env: { NAME: value }" },
  healthcheck: { key: "readiness", hint: "a service's checks are readiness: { http: URL, tcp: host:port, cmd: ..., interval, timeout }" },
  working_dir: { key: "cwd", hint: "the working directory is cwd:, in the workspace" },
  "working-directory": { key: "cwd", hint: "the working directory is cwd:, in the workspace" },
  dir: { key: "cwd", hint: "the working directory is cwd:, in the workspace" },
  if: { key: "condition", hint: 'a task runs only if condition: "{{ ... }}" renders true' },
  timeout_minutes: { key: "timeout", hint: "the time limit is timeout: 10m" },
  desc: { key: "description", hint: "description: what it does" },
  retry: { key: "retries", hint: "the number of retries is retries: N" },
};
