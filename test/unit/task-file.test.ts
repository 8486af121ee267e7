import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseDuration } from "../../daemon/tasks/duration.js";
import { resolveGraph } from "../../daemon/tasks/graph.js";
import { loadTaskFile, parseTaskFile } from "../../daemon/tasks/task-file.js";
import { renderTemplate } from "../../daemon/tasks/template.js";

/** The message the task file `text` (at /p/t.yaml) is refused with; "" when it parses. */
function refusal(text: string): string {
  try {
    parseTaskFile("/p/t.yaml", text);
    return "";
  } catch (error) {
    return (error as Error).message;
  }
}

describe("the task file", () => {
  it("takes anchors, aliases and merge keys (<<), as docker compose and GitLab CI files use them: a task's own keys win, then the first merge", () => {
    const file = parseTaskFile(
      "/p/tether.yaml",
      `x-defaults: &defaults
  retries: 2
  timeout: 1m
  env: &env { MODE: dev, LEVEL: "1" }
x-slow: &slow { timeout: 1h, retry_delay: 5s }
tasks:
  build:
    <<: *defaults
    cmd: &build-cmd [make, all]
    retries: 0
  test:
    <<: [*defaults, *slow]
    cmd: *build-cmd
    env: { <<: *env, MODE: test }
    upstream: [build]
`,
    );
    expect(file.tasks.get("build")).toMatchObject({ cmd: { kind: "argv", argv: ["make", "all"] }, retries: 0, timeoutMs: 60_000, env: { MODE: "dev", LEVEL: "1" } });
    expect(file.tasks.get("test")).toMatchObject({ cmd: { kind: "argv", argv: ["make", "all"] }, retries: 2, timeoutMs: 60_000, retryDelayMs: 5_000, env: { MODE: "test", LEVEL: "1" }, upstream: ["build"] });
  });

  it("refuses an env value that names its own variable as a shell would ($PATH, ${PATH}), saying how to write it; other $ stays as written", () => {
    const file = (env: string) => parseTaskFile("/p/t.yaml", `tasks:\n  t:\n    cmd: echo\n    env: ${env}\n`);
    expect(() => file('{ PATH: "$PATH:./bin" }')).toThrow(
      '/p/t.yaml:4: task "t": env PATH: "$PATH:./bin" would hold the characters $PATH, not PATH\'s value (an env value is put in as written, not expanded by a shell): write "{{ env.PATH }}:./bin"',
    );
    expect(() => file('{ NODE_OPTIONS: "${NODE_OPTIONS} --inspect" }')).toThrow('write "{{ env.NODE_OPTIONS }} --inspect"');
    expect(file('{ PW: "pa$word", PATHS: "$PATH", PATH: "$PATHS:{{ env.PATH }}" }').tasks.get("t")!.env).toEqual({ PW: "pa$word", PATHS: "$PATH", PATH: "$PATHS:{{ env.PATH }}" });
  });

  it("refuses an alias inside its own anchor, a merge of what is not a mapping, and aliases that expand past the limit (a billion laughs), with the line; a problem in a merged value names the anchor's line", () => {
    expect(() => parseTaskFile("/p/t.yaml", "x: &a [1, *a]\ntasks:\n  t: { cmd: echo }\n")).toThrow("/p/t.yaml:1: the alias *a is inside the node &a marks: a node cannot hold itself");
    expect(() => parseTaskFile("/p/t.yaml", "tasks:\n  t:\n    cmd: echo\n    <<: 3\n")).toThrow("/p/t.yaml:4: << merges a mapping into this one: an alias of a mapping (<<: *defaults) or a list of them");
    expect(() => parseTaskFile("/p/t.yaml", "d: &d { retries: many }\ntasks:\n  t:\n    <<: *d\n    cmd: echo\n")).toThrow('/p/t.yaml:1: task "t": retries must be a whole number');
    // Ten levels, each aliasing the one before ten times: 10^10 values if expanded.
    const levels = ["x0: &l0 [a, b, c, d, e, f, g, h, i, j]", ...Array.from({ length: 9 }, (_, i) => `x${i + 1}: &l${i + 1} [${Array(10).fill(`*l${i}`).join(", ")}]`)];
    expect(() => parseTaskFile("/p/t.yaml", `${levels.join("\n")}\ntasks:\n  t: { cmd: echo, env: { X: *l9 } }\n`)).toThrow(
      /\/p\/t\.yaml:\d+: the anchors and aliases expand to more than 200000 values \(each alias stands for all its anchor marks, so aliases of aliases multiply\): alias less/,
    );
    // A quoted "<<" is an ordinary key, refused as a task's unknown key.
    expect(() => parseTaskFile("/p/t.yaml", 'd: &d { retries: 1 }\ntasks:\n  t:\n    "<<": *d\n    cmd: echo\n')).toThrow('/p/t.yaml:4: task "t": unknown key "<<"');
  });

  it("reads the design sketch: string and argv commands, inputs, env, retries, timeout, readiness, keep_open", () => {
    const file = parseTaskFile(
      "/p/tether.yaml",
      `tasks:
  build:
    cmd: npm run build -- --mode {{ inputs.mode }}
    inputs:
      mode: { type: choice, choices: [dev, prod], default: dev }
  serve:
    cmd: node server.js
    upstream: [build]
    env: { PORT: "8080" }
    readiness: { http: "http://127.0.0.1:8080/health", interval: 1s, timeout: 60s }
  test:
    cmd: ["npm", "test"]
    upstream: [serve]
    retries: 1
    timeout: 10m
  review:
    cmd: ./review.sh
    keep_open: true
`,
    );
    const test = file.tasks.get("test")!;
    expect(test.cmd).toEqual({ kind: "argv", argv: ["npm", "test"] });
    expect(test.timeoutMs).toBe(600_000);
    expect(file.tasks.get("serve")!.readiness).toMatchObject({ http: "http://127.0.0.1:8080/health", intervalMs: 1000, timeoutMs: 60_000, healthIntervalMs: 30_000 });
    expect(file.tasks.get("build")!.inputs[0]).toMatchObject({ name: "mode", type: "choice", default: "dev", choices: ["dev", "prod"] });
    expect(file.tasks.get("review")!.keepOpen).toBe(true);
    expect(resolveGraph(file.tasks, "test").map((t) => t.name)).toEqual(["build", "serve", "test"]);
  });

  it("reads a task's priority: in its queue (negative too); refuses one that is no whole number, or has no queue:", () => {
    const tasks = parseTaskFile("/p/t.yaml", "tasks:\n  a: { cmd: x, queue: q, priority: 7 }\n  b: { cmd: x, queue: q, priority: -2 }\n  c: { cmd: x, queue: q }\n").tasks;
    expect([tasks.get("a")?.priority, tasks.get("b")?.priority, tasks.get("c")?.priority]).toEqual([7, -2, undefined]);
    expect(refusal("tasks:\n  a: { cmd: x, queue: q, priority: high }\n")).toContain('/p/t.yaml:2: task "a": priority must be a whole number');
    expect(refusal("tasks:\n  a: { cmd: x, priority: 1.5 }\n")).toContain("priority must be a whole number");
    expect(refusal("tasks:\n  a: { cmd: x, priority: 1 }\n")).toContain("priority orders a task's runs among those waiting in its queue: give it queue: NAME too");
  });

  it("reports a duplicate task and a YAML error with their lines", () => {
    expect(() => parseTaskFile("/p/t.yaml", "tasks:\n  a: { cmd: x }\n  a: { cmd: y }\n")).toThrow('/p/t.yaml:3: task "a" is defined twice');
    expect(() => parseTaskFile("/p/t.yaml", "tasks:\n  a: [\n")).toThrow(/\/p\/t\.yaml:\d+:/);
    expect(() => parseTaskFile("/p/t.yaml", "tasks:\n  a: { cmd: x }\n---\ntasks:\n  b: { cmd: y }\n")).toThrow(
      "/p/t.yaml:3: a second YAML document starts here (---): a task file is one document, so put every task under the first one's tasks:",
    );
    // The usual slip in a command, a ": " unquoted, says how to write it.
    expect(() => parseTaskFile("/p/t.yaml", 'tasks:\n  a:\n    cmd: echo "got: $x"\n')).toThrow(
      '/p/t.yaml:3: Nested mappings are not allowed in compact mappings at line 3, column 10: a value with ": " in it must be quoted, or written as a block (cmd: | with the command indented on the lines below)',
    );
    expect(() => parseTaskFile("/p/t.yaml", "tasks:\n  a: { cmd: x, retries: -1, timeout: soon }\n")).toThrow(/retries must be a whole number[\s\S]*timeout must be a duration/);
    // A cmd that is there but not a command says so, rather than that it is missing.
    expect(() => parseTaskFile("/p/t.yaml", "tasks:\n  a: { cmd: 5 }\n  b: { cmd: [] }\n  c: { env: {} }\n")).toThrow(
      /t\.yaml:2: task "a": cmd must be a non-empty string or list[\s\S]*t\.yaml:3: task "b": cmd must be[\s\S]*t\.yaml:4: task "c": cmd is required/,
    );
    // Listed in the file's order, whatever order they were found in (a task's keys are checked before its inputs).
    expect(() => parseTaskFile("/p/t.yaml", "tasks:\n  d:\n    cmd: echo\n    inputs: { n: { type: integer } }\n    timeout: forever\n")).toThrow(
      /t\.yaml:4: task "d": input "n": bad input type "integer"[^\n]*\n\s*\/p\/t\.yaml:5: task "d": timeout must be a duration/,
    );
  });

  it("max_output is a size a session of the task keeps (100M, 1G, or bytes), at least 16 MiB; another spelling gets a hint", () => {
    const file = parseTaskFile("/p/t.yaml", "tasks:\n  a: { cmd: x, max_output: 100M }\n  b: { cmd: x, max_output: 1.5g }\n  c: { cmd: x, max_output: 16777216 }\n  d: { cmd: x }\n");
    expect(["a", "b", "c", "d"].map((name) => file.tasks.get(name)!.maxOutputBytes)).toEqual([100 * 1024 ** 2, 1.5 * 1024 ** 3, 16 * 1024 ** 2, undefined]);
    expect(refusal("tasks:\n  a: { cmd: x, max_output: 1M }\n")).toContain('/p/t.yaml:2: task "a": max_output is 1048576: keep at least 16 MiB of output (0 keeps all of it)');
    expect(refusal("tasks:\n  a: { cmd: x, max_output: lots }\n")).toContain('/p/t.yaml:2: task "a": max_output must be a size such as 100M, 1G or 512k');
    expect(refusal("tasks:\n  a: { cmd: x, max_size: 100M }\n")).toContain("max_output, queue, priority, matrix, sources, generates (the output a session keeps is max_output: 100M)");
  });

  it("refuses a key it does not take, of a task, an input or readiness, with its line and what that place may have", () => {
    const text = "tasks:\n  a:\n    cmd: x\n    retry: 3\n    inputs:\n      token: { type: string, secret: true }\n      env: { required: true }\n    readiness: { tcp: 'h:1', intervall: 1s }\n";
    const message = refusal(text);
    expect(message).toContain('/p/t.yaml:4: task "a": unknown key "retry"; a task may have cmd,');
    expect(message).toContain("env_file, max_output, queue, priority, matrix, sources, generates (the number of retries is retries: N)");
    expect(message).toContain('/p/t.yaml:6: task "a": input "token": unknown key "secret"; an input may have type, default, choices, description (a secret input is type: secret)');
    expect(message).toContain('/p/t.yaml:7: task "a": input "env": unknown key "required"; an input may have type, default, choices, description (an input without a default is required)');
    expect(message).toContain('/p/t.yaml:8: task "a": unknown key "intervall"; did you mean interval? Readiness may have http, tcp, cmd, interval, timeout, health_interval');
  });

  it("takes a task of upstreams alone as a group (no cmd); refuses in it what says how a process runs, and a task with neither", () => {
    const file = parseTaskFile("/p/t.yaml", "tasks:\n  lint: { cmd: x }\n  all: { description: both, upstream: [lint], condition: 'yes', when: always }\n");
    expect(file.tasks.get("all")).toMatchObject({ cmd: undefined, upstream: ["lint"], description: "both", when: "always" });
    const message = refusal("tasks:\n  lint: { cmd: x }\n  all:\n    upstream: [lint]\n    retries: 2\n    env: { A: b }\n  none: { description: nothing }\n");
    expect(message).toContain('/p/t.yaml:5: task "all": retries says how a task\'s process runs, and a task with no cmd runs none (a group: done once its upstreams are; it may have description, upstream, inputs, condition, when): add its cmd, or leave retries out');
    expect(message).toContain('/p/t.yaml:6: task "all": env says how');
    expect(message).toContain('/p/t.yaml:7: task "none": cmd is required (or upstream: a task of upstreams alone is a group)');
  });

  it("reads readiness.health_interval (0: no checks once ready); refuses one that is no duration", () => {
    const file = parseTaskFile("/p/t.yaml", "tasks:\n  a: { cmd: x, readiness: { cmd: 'true', health_interval: 5s } }\n  b: { cmd: x, readiness: { cmd: 'true', health_interval: 0s } }\n");
    expect(file.tasks.get("a")!.readiness!.healthIntervalMs).toBe(5_000);
    expect(file.tasks.get("b")!.readiness!.healthIntervalMs).toBe(0);
    expect(refusal("tasks:\n  a: { cmd: x, readiness: { cmd: 'true', health_interval: often } }\n")).toContain('/p/t.yaml:2: task "a": readiness.health_interval must be a duration such as 30s, 10m or 1h30m');
  });

  it("takes allow_failure: true, refused beside fail_fast; GitHub's continue-on-error and Taskfile's ignore_error are named as it", () => {
    const file = parseTaskFile("/p/t.yaml", "tasks:\n  lint: { cmd: x, allow_failure: true }\n  build: { cmd: y }\n");
    expect(file.tasks.get("lint")!.allowFailure).toBe(true);
    expect(file.tasks.get("build")!.allowFailure).toBeUndefined();
    expect(refusal("tasks:\n  a: { cmd: x, allow_failure: true, fail_fast: true }\n")).toContain('/p/t.yaml:2: task "a": allow_failure and fail_fast: a failure the graph goes on past cannot also cancel it; keep one');
    expect(refusal("tasks:\n  a: { cmd: x, allow_failure: maybe }\n")).toContain("allow_failure");
    for (const spelling of ["continue-on-error", "ignore_error"]) {
      expect(refusal(`tasks:\n  a: { cmd: x, ${spelling}: true }\n`)).toContain(`unknown key "${spelling}"; a task may have cmd,`);
      expect(refusal(`tasks:\n  a: { cmd: x, ${spelling}: true }\n`)).toContain("(a task whose failure the graph goes on past is allow_failure: true)");
    }
  });

  it("takes when: always or on_failure (on_success, the default, as none), beside upstreams only", () => {
    const file = parseTaskFile("/p/t.yaml", "tasks:\n  a: { cmd: x }\n  b: { cmd: x, upstream: [a], when: always }\n  c: { cmd: x, upstream: [a], when: on_failure }\n  d: { cmd: x, upstream: [a], when: on_success }\n").tasks;
    expect(["b", "c", "d"].map((t) => file.get(t)!.when)).toEqual(["always", "on_failure", undefined]);
    expect(refusal("tasks:\n  a: { cmd: x }\n  b: { cmd: x, upstream: [a], when: manual }\n")).toContain('/p/t.yaml:3: task "b": when: "manual" is none of on_success (the default: once every upstream is done well), always');
    expect(refusal("tasks:\n  a: { cmd: x, when: always }\n")).toContain('/p/t.yaml:2: task "a": when: always says when a task runs after its upstreams, and it has none');
  });

  it("says how tether spells the keys of the files people come from (compose, GitHub Actions, Taskfile), and the key meant when one is close", () => {
    const problems = (task: string): string => refusal(`tasks:\n  a:\n${task}`);
    const text = problems("    command: make\n    depends_on: [b]\n    environment: { X: 1 }\n    healthcheck: { test: true }\n    working_dir: src\n    upstrem: [b]\n");
    expect(text).toContain('/p/t.yaml:3: task "a": unknown key "command"; a task may have cmd,');
    expect(text).toContain("env_file, max_output, queue, priority, matrix, sources, generates (the command is cmd: a string for /bin/sh -c, or a list)");
    expect(text).toContain('/p/t.yaml:4: task "a": unknown key "depends_on"; a task may have cmd, description, upstream, inputs, env, retries, retry_delay, timeout, readiness, condition, keep_open, result, cwd, streams, stdin, fail_fast, allow_failure, when, workspace, env_file, max_output, queue, priority, matrix, sources, generates (what a task waits for is upstream: [a, b])');
    expect(text).toContain("env_file, max_output, queue, priority, matrix, sources, generates (variables are env: { NAME: value })");
    expect(text).toContain("env_file, max_output, queue, priority, matrix, sources, generates (a service's checks are readiness: { http: URL, tcp: host:port, cmd: ..., interval, timeout, health_interval })");
    expect(text).toContain("env_file, max_output, queue, priority, matrix, sources, generates (the working directory is cwd:, in the workspace)");
    // Taskfile's dotenv, compose's env_file spelt otherwise.
    expect(problems("    cmd: x\n    dotenv: [.env]\n")).toContain('unknown key "dotenv"; a task may have cmd,');
    expect(problems("    cmd: x\n    dotenv: [.env]\n")).toContain("env_file, max_output, queue, priority, matrix, sources, generates (files of variables are env_file: .env, or a list of them)");
    expect(text).toContain('/p/t.yaml:8: task "a": unknown key "upstrem"; did you mean upstream? A task may have cmd,');
    // GitLab's resource_group, GitHub Actions' concurrency: a queue here.
    for (const key of ["concurrency", "resource_group"]) {
      expect(problems(`    cmd: x\n    ${key}: deploy\n`)).toContain("queue, priority, matrix, sources, generates (runs that must not overlap share a queue: NAME (one at a time, as exec queue NAME --parallel N sets))");
    }
    // A hint that belongs elsewhere is not given: an input's "run" is no command.
    expect(problems("    cmd: x\n    inputs: { n: { run: 1 } }\n")).toMatch(/input "n": unknown key "run"; an input may have type, default, choices, description$/);
  });

  it("queue: names the queue a task's runs take a slot in, a name as an exec's", () => {
    const file = parseTaskFile("/p/t.yaml", "tasks:\n  a: { cmd: x, queue: gpu.0 }\n  b: { cmd: x }\n");
    expect([file.tasks.get("a")!.queue, file.tasks.get("b")!.queue]).toEqual(["gpu.0", undefined]);
    expect(refusal('tasks:\n  a: { cmd: x, queue: "no way" }\n')).toContain(`/p/t.yaml:2: task "a": queue name "no way" is not one: 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit (build, gpu.0)`);
  });

  it("gives every task the env and env_file at its top, as a workflow's env: a task's own env wins, its env_files come after; another key at the top is refused, x- ones kept for anchors", () => {
    const file = parseTaskFile(
      "/p/tether.yaml",
      `env: { MODE: dev, LEVEL: "1" }\nenv_file: .env\nx-note: &note { timeout: 1m }\ntasks:\n  a: { cmd: x, env: { MODE: prod } }\n  b: { cmd: y, env_file: [local.env] }\n`,
    );
    expect(file.tasks.get("a")).toMatchObject({ env: { MODE: "prod", LEVEL: "1" }, envFiles: ["/p/.env"] });
    expect(file.tasks.get("b")).toMatchObject({ env: { MODE: "dev", LEVEL: "1" }, envFiles: ["/p/.env", "/p/local.env"] });
    const refused = refusal(`version: "3"\njobs: {}\nenvironment: { A: 1 }\ntasks:\n  a: { cmd: x }\n`);
    expect(refused).toContain('/p/t.yaml:1: unknown key "version"; a task file may have tasks, env, env_file (a task file has no version: leave it out)');
    expect(refused).toContain('/p/t.yaml:2: unknown key "jobs"; a task file may have tasks, env, env_file (tasks are under tasks: { name: { cmd: ... } })');
    expect(refused).toContain('/p/t.yaml:3: unknown key "environment"; a task file may have tasks, env, env_file (variables are env: { NAME: value })');
  });

  it("reports an unknown upstream on the line that names it, and lists every task declared, valid or not", () => {
    const text = "tasks:\n  a:\n    cmd: x\n    upstream:\n      - b\n      - zz\n  b:\n    cmdd: y\n  c:\n    cmd: z\n    upstream: yy\n";
    const error = (() => {
      try {
        parseTaskFile("/p/t.yaml", text);
      } catch (e) {
        return String(e);
      }
      return "";
    })();
    expect(error).toContain('/p/t.yaml:6: task "a": unknown upstream "zz"; the tasks are a, b, c');
    expect(error).toContain('/p/t.yaml:11: task "c": unknown upstream "yy"');
    expect(error).toContain('/p/t.yaml:7: task "b": cmd is required');
    // b is declared (its definition is what is wrong), so naming it is not an unknown upstream.
    expect(error).not.toContain('unknown upstream "b"');
    // A slip of a letter or two names the task meant.
    expect(() => parseTaskFile("/p/t.yaml", "tasks:\n  build: { cmd: x }\n  test: { cmd: y, upstream: [biuld] }\n")).toThrow('/p/t.yaml:3: task "test": unknown upstream "biuld"; did you mean build? The tasks are build, test');
  });

  it("renders placeholders as they are, or as one shell word with | quote; refuses a filter that does not exist, with its line", () => {
    const scope = { inputs: { name: "x; echo INJECTED", quote: "it's $(id)" }, xcom: { build: "ok" }, env: { HOME: "/h" } };
    expect(renderTemplate("echo {{ inputs.name }} {{xcom.build}} {{ env.HOME }} {{ inputs.missing }}.", scope)).toBe("echo x; echo INJECTED ok /h .");
    expect(renderTemplate("[{{ inputs.constructor }}{{ env.toString }}{{ other.x }}]", scope)).toBe("[]");
    expect(renderTemplate("echo {{ inputs.name | quote }} {{inputs.quote|quote}} {{ inputs.missing | quote }}", scope)).toBe(`echo 'x; echo INJECTED' 'it'\\''s $(id)' ''`);
    // What a shell makes of them: each value one word, nothing run.
    const rendered = renderTemplate("printf '%s|' {{ inputs.name | quote }} {{ inputs.quote | quote }}", scope);
    expect(execFileSync("/bin/sh", ["-c", rendered], { encoding: "utf8" })).toBe("x; echo INJECTED|it's $(id)|");
    expect(() => parseTaskFile("/p/t.yaml", "tasks:\n  a: { cmd: 'echo {{ inputs.x | constructor }}' }\n")).toThrow('unknown template filter "constructor"');
    expect(() => parseTaskFile("/p/t.yaml", "tasks:\n  a:\n    cmd: echo {{ inputs.x | upper }}\n    env: { A: '{{ env.B | shell }}' }\n    condition: '{{ inputs.x | quote }}'\n")).toThrow(
      /t\.yaml:3: task "a": unknown template filter "upper": the filters are quote[\s\S]*t\.yaml:4: task "a": unknown template filter "shell"/,
    );
  });

  it("refuses a placeholder that would render empty whatever the session: what is none of inputs, xcom or env, an input no task declares", () => {
    const file = [
      "tasks:",
      "  build:",
      "    cmd: echo {{ input.mode }} {{ inputs.mdoe }} {{ inputs.mode }}",
      "    env: { TARGET: '{{ inputs.target }}', HOME_TOO: '{{ env.HOME }}', WHATEVER: '{{ xcom.anything }}' }",
      "    condition: '{{ inputs.release }}'",
      "    inputs:",
      "      mode: { default: dev }",
      "  ship:",
      "    cmd: ['echo', '{{ inputs.release }}', '{{ secrets.token }}']",
      "    upstream: [build]",
      "    inputs:",
      "      release: { type: bool, default: false }",
    ].join("\n");
    let message = "";
    try {
      parseTaskFile("/p/t.yaml", file);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message.split("\n").slice(1)).toEqual([
      '  /p/t.yaml:3: task "build": unknown placeholder {{ input.… }}: did you mean inputs? A placeholder reads {{ inputs.NAME }}, {{ xcom.TASK }} or {{ env.NAME }}',
      '  /p/t.yaml:3: task "build": {{ inputs.mdoe }} names no input; did you mean mode? The inputs are mode, release',
      '  /p/t.yaml:4: task "build": {{ inputs.target }} names no input; the inputs are mode, release',
      '  /p/t.yaml:9: task "ship": unknown placeholder {{ secrets.… }}: a placeholder reads {{ inputs.NAME }}, {{ xcom.TASK }} or {{ env.NAME }}',
    ]);
    // Another task's input counts (build runs in ship's graph, which declares release); with no inputs at all, it says where to declare one.
    expect(() => parseTaskFile("/p/t.yaml", "tasks:\n  a: { cmd: 'echo {{ inputs.x }}' }\n")).toThrow("{{ inputs.x }} names no input; no task declares inputs: declare it under the task's inputs:");
  });

  it("reads a task's own workspace, and reports one that cannot be a workspace name with its line", () => {
    const file = parseTaskFile("/p/t.yaml", "tasks:\n  a: { cmd: x, workspace: box }\n  b: { cmd: y }\n");
    expect([file.tasks.get("a")!.workspace, file.tasks.get("b")!.workspace]).toEqual(["box", undefined]);
    expect(() => parseTaskFile("/p/t.yaml", "tasks:\n  a: { cmd: x }\n  b:\n    cmd: y\n    workspace: ../box\n")).toThrow(
      '/p/t.yaml:5: task "b": workspace "../box" is not a workspace name or id',
    );
  });

  it("parses durations the way Go and systemd spell them", () => {
    expect(parseDuration("1h30m")).toBe(5_400_000);
    expect(parseDuration("250ms")).toBe(250);
    expect(parseDuration(2)).toBe(2000);
    expect(parseDuration("soon")).toBeUndefined();
  });

  it("reads streams and stdin, and reports a bad stream name, a bad direction and a stream with two directions with their lines", () => {
    const file = parseTaskFile("/p/t.yaml", "tasks:\n  a:\n    cmd: x\n    stdin: stream\n    streams: { approval: input, events: output }\n");
    expect(file.tasks.get("a")!.streams).toEqual({ approval: "input", events: "output" });
    expect(file.tasks.get("a")!.stdin).toBe("stream");
    const bad = `tasks:
  a:
    cmd: x
    streams: { "bad name": input, ok: sideways, stdin: output, result: input, events: output }
  b:
    cmd: y
    streams: { events: input }
`;
    let message = "";
    try {
      parseTaskFile("/p/t.yaml", bad);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('/p/t.yaml:4: task "a": stream name "bad name" is invalid');
    expect(message).toContain('task "a": stream "ok": the direction is input');
    expect(message).toContain('stream "stdin" is the built-in input stream');
    expect(message).toContain('stream "result" is the built-in output stream of task results');
    expect(message).toContain('/p/t.yaml:5: task "b": stream "events" is an input here but an output in task "a"');
  });

  it("is parsed once while its text is unchanged, and read afresh once it changes", () => {
    const path = join(mkdtempSync(join(tmpdir(), "tether-taskfile-")), "tether.yaml");
    writeFileSync(path, "tasks:\n  a: { cmd: echo one }\n");
    const first = loadTaskFile(path);
    expect(loadTaskFile(path)).toBe(first);
    writeFileSync(path, "tasks:\n  a: { cmd: echo two }\n");
    const changed = loadTaskFile(path);
    expect(changed).not.toBe(first);
    expect(changed.tasks.get("a")!.cmd).toEqual({ kind: "shell", script: "echo two" });
  });
});
