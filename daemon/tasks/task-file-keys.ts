import type { Node, YAMLMap } from "yaml";
import { meantThen } from "../../common/closest-word.js";
import type { Report } from "./template-checks.js";

/** The keys a task file takes at its top (and `x-…` ones, as compose's, to hold YAML anchors), a task, an input and a readiness check. */
export const FILE_KEYS: ReadonlySet<string> = new Set(["tasks", "env", "env_file"]);
export const TASK_KEYS: ReadonlySet<string> = new Set(["cmd", "description", "upstream", "inputs", "env", "retries", "retry_delay", "timeout", "readiness", "condition", "keep_open", "result", "cwd", "streams", "stdin", "fail_fast", "allow_failure", "when", "workspace", "env_file", "max_output", "queue", "priority", "matrix", "sources", "generates"]);
export const INPUT_KEYS: ReadonlySet<string> = new Set(["type", "default", "choices", "description"]);
/** The keys a task with no cmd takes (a group of its upstreams: the rest say how its process runs, and it has none). */
export const GROUP_KEYS: ReadonlySet<string> = new Set(["description", "upstream", "inputs", "condition", "when"]);
export const READINESS_KEYS: ReadonlySet<string> = new Set(["http", "tcp", "cmd", "interval", "timeout", "health_interval"]);

/**
 * Reports each key of `map` not in `allowed`, naming what `what` may have: a
 * misspelt key (`retry:`, an input's `secret: true`) would otherwise be a
 * setting silently not applied.
 */
export function refuseUnknownKeys(map: YAMLMap, allowed: ReadonlySet<string>, what: string, report: Report, free: (key: string) => boolean = () => false): void {
  for (const pair of map.items) {
    const key = String((pair.key as Node & { value?: unknown }).value);
    if (allowed.has(key) || free(key)) continue;
    const known = [...allowed];
    const then = `${what} may have ${known.join(", ")}`;
    const meant = KEY_HINTS.get(key);
    report(pair.key as Node, `unknown key "${key}"; ${meant !== undefined && allowed.has(meant.key) ? `${then} (${meant.hint})` : meantThen(key, known, then)}`);
  }
}

/**
 * Reports each key of a task with no cmd (a group of its upstreams) that
 * says how its process runs (retries, env, readiness ...): it has none.
 * Keys no task takes are reported already (refuseUnknownKeys).
 */
export function refuseInGroup(map: YAMLMap, report: Report): void {
  for (const pair of map.items) {
    const key = String((pair.key as Node & { value?: unknown }).value);
    if (GROUP_KEYS.has(key) || !TASK_KEYS.has(key)) continue;
    report(pair.key as Node, `${key} says how a task's process runs, and a task with no cmd runs none (a group: done once its upstreams are; it may have ${[...GROUP_KEYS].join(", ")}): add its cmd, or leave ${key} out`);
  }
}

/**
 * What a key tether does not take means to say, where tether spells it
 * another way (`key`): an input's required or secret flags, and the keys of
 * the files people come from (docker compose, GitHub Actions, GitLab CI,
 * Taskfile, just).
 */
const KEY_HINTS: ReadonlyMap<string, { key: string; hint: string }> = new Map(
  (
    [
      ["type", "a secret input is type: secret", ["secret"]],
      ["default", "an input without a default is required", ["required"]],
      ["cmd", "the command is cmd: a string for /bin/sh -c, or a list", ["command", "run", "script", "cmds"]],
      ["upstream", "what a task waits for is upstream: [a, b]", ["depends_on", "needs", "deps", "dependencies"]],
      ["env", "variables are env: { NAME: value }", ["environment", "variables", "vars"]],
      ["env_file", "files of variables are env_file: .env, or a list of them", ["dotenv", "env_files", "envfile"]],
      ["readiness", "a service's checks are readiness: { http: URL, tcp: host:port, cmd: ..., interval, timeout, health_interval }", ["healthcheck"]],
      ["cwd", "the working directory is cwd:, in the workspace", ["working_dir", "working-directory", "dir"]],
      ["condition", 'a task runs only if condition: "{{ ... }}" renders true', ["if"]],
      ["timeout", "the time limit is timeout: 10m", ["timeout_minutes"]],
      ["max_output", "the output a session keeps is max_output: 100M", ["max_size", "log_size", "max_log_size"]],
      ["description", "description: what it does", ["desc"]],
      ["retries", "the number of retries is retries: N", ["retry"]],
      ["allow_failure", "a task whose failure the graph goes on past is allow_failure: true", ["continue-on-error", "continue_on_error", "ignore_error", "ignore_errors", "allow-failure"]],
      ["matrix", "a task run once per combination of values is matrix: { python: [\"3.11\", \"3.12\"] }", ["strategy", "parallel", "for"]],
      ["generates", "what a task makes, which says it is up to date, is generates: [dist/app.js] beside sources:", ["outputs", "generated", "artifacts", "targets_files"]],
      ["sources", "what a task makes its files from is sources: [src/**/*.ts] beside generates:", ["source", "inputs_files", "srcs"]],
      ["queue", "runs that must not overlap share a queue: NAME (one at a time, as exec queue NAME --parallel N sets)", ["concurrency", "resource_group"]],
      ["tasks", "tasks are under tasks: { name: { cmd: ... } }", ["jobs", "services", "recipes", "targets"]],
      ["tasks", "a task file has no version: leave it out", ["version"]],
    ] as const
  ).flatMap(([key, hint, spellings]) => spellings.map((spelling) => [spelling, { key, hint }] as const)),
);
