import { describe, expect, it } from "vitest";
import { parseTaskFile } from "../../daemon/tasks/task-file.js";

/** The problems the task file `text` (at /p/t.yaml) is refused with, one per line; [] when it parses. */
function problems(text: string): string[] {
  try {
    parseTaskFile("/p/t.yaml", text);
    return [];
  } catch (error) {
    return (error as Error).message.split("\n").slice(1).map((line) => line.trim());
  }
}

describe("a task's matrix", () => {
  it("makes a task of each combination, named after its values in the axes' order, with {{ matrix.NAME }} put in; the task itself is a group of them", () => {
    const file = parseTaskFile(
      "/p/t.yaml",
      `tasks:
  build: { cmd: make }
  test:
    description: "tests on {{ matrix.python }}"
    upstream: [build]
    inputs: { suite: { default: unit } }
    matrix:
      python: [3.10, "3.12"]
      os: [linux, mac]
    cmd: "tox -e py{{ matrix.python }} -- {{ inputs.suite }} {{ matrix.os | quote }}"
    env: { TARGET: "{{ matrix.os }}-{{ env.HOME }}" }
    retries: 2
    max_output: 20M
  ci: { upstream: [test], cmd: echo }
`,
    );
    const names = ["test:3.10:linux", "test:3.10:mac", "test:3.12:linux", "test:3.12:mac"];
    expect([...file.tasks.keys()]).toEqual(["build", ...names, "test", "ci"]);
    const one = file.tasks.get("test:3.10:mac")!;
    expect(one).toMatchObject({
      description: "tests on 3.10",
      upstream: ["build"],
      cmd: { kind: "shell", script: "tox -e py3.10 -- {{ inputs.suite }} 'mac'" },
      env: { TARGET: "mac-{{ env.HOME }}" },
      retries: 2,
      inputs: [{ name: "suite", default: "unit" }],
    });
    expect(file.tasks.get("test")).toMatchObject({ description: "tests on 3.10, 3.12", cmd: undefined, upstream: names, retries: 0, readiness: undefined, env: {}, maxOutputBytes: 20 * 1024 * 1024 });
    expect(file.tasks.get("ci")!.upstream).toEqual(["test"]);
    expect(file.lines.get("test:3.12:mac")).toBe(3);
    // An argv command has each word's values put in.
    const argv = parseTaskFile("/p/t.yaml", "tasks:\n  t:\n    matrix: { n: [1, 2] }\n    cmd: [echo, 'n={{ matrix.n }}']\n");
    expect(argv.tasks.get("t:2")!.cmd).toEqual({ kind: "argv", argv: ["echo", "n=2"] });
    // exclude leaves out each combination with the values an entry names.
    const some = parseTaskFile("/p/t.yaml", 'tasks:\n  t:\n    cmd: echo\n    matrix:\n      os: [linux, mac, win]\n      py: [3.10, "3.12"]\n      exclude: [{ os: win }, { os: mac, py: 3.10 }]\n');
    expect([...some.tasks.keys()]).toEqual(["t:linux:3.10", "t:linux:3.12", "t:mac:3.12", "t"]);
    expect(some.tasks.get("t")!.upstream).toEqual(["t:linux:3.10", "t:linux:3.12", "t:mac:3.12"]);
    // A service of each combination: its readiness checks take the values too, and are checked with them.
    const services = parseTaskFile("/p/t.yaml", 'tasks:\n  s:\n    matrix: { port: [8001, 8002] }\n    cmd: serve\n    readiness: { tcp: "localhost:{{ matrix.port }}" }\n');
    expect(services.tasks.get("s:8002")!.readiness).toMatchObject({ tcp: "localhost:8002" });
    expect(problems('tasks:\n  s:\n    matrix: { host: [a] }\n    cmd: serve\n    readiness: { tcp: "{{ matrix.host }}" }\n')).toEqual([`/p/t.yaml:2: task "s": s:a: readiness.tcp must be host:port, got "a"`]);
  });

  it("refuses, with the line and the fix, a matrix it cannot name tasks after, one too large, a placeholder of no axis, and a name another task has", () => {
    expect(problems('tasks:\n  t:\n    cmd: "echo {{ matrix.pyton }}"\n    matrix: { python: [a] }\n')).toEqual([
      `/p/t.yaml:3: task "t": {{ matrix.pyton }} names no axis of the task's matrix; did you mean python? The axes are python`,
    ]);
    expect(problems('tasks:\n  t:\n    cmd: "echo {{ matrix.os }}"\n')).toEqual([
      `/p/t.yaml:3: task "t": {{ matrix.os }} reads a value of the task's matrix, and it has none: add matrix: { os: [a, b] } to the task`,
    ]);
    expect(problems('tasks:\n  t:\n    cmd: echo\n    matrix:\n      v: ["a b", x, x]\n      bad-name: [1]\n      empty: []\n')).toEqual([
      `/p/t.yaml:5: task "t": matrix.v: "a b" cannot be a value: each is part of a task's name (test:3.12:linux), so 1-64 letters, digits, '.', '_' or '-'`,
      `/p/t.yaml:5: task "t": matrix.v lists x twice: list each value once`,
      `/p/t.yaml:6: task "t": matrix: "bad-name" is no name for an axis: use letters, digits and '_', starting with a letter or '_' ({{ matrix.NAME }} reads its value)`,
      `/p/t.yaml:7: task "t": matrix.empty must be a list of at least one value: matrix is a mapping of names to lists of values: matrix: { python: ["3.11", "3.12"], os: [linux, mac] }`,
    ]);
    expect(problems("tasks:\n  t:\n    cmd: echo\n    matrix:\n      os: [linux]\n      exclude: [{ os: mac, oss: linux }, 3]\n")).toEqual([
      `/p/t.yaml:6: task "t": matrix.exclude is a list of the combinations to leave out, each a mapping of axes to a value: exclude: [{ os: mac, python: "3.11" }]`,
    ]);
    expect(problems("tasks:\n  t:\n    cmd: echo\n    matrix:\n      os: [linux]\n      exclude: [{ os: mac, oss: linux }]\n")).toEqual([
      `/p/t.yaml:6: task "t": matrix.exclude: os: "mac" is none of its values (linux)`,
      `/p/t.yaml:6: task "t": matrix.exclude: oss is no axis of the matrix; did you mean os? The axes are os`,
    ]);
    expect(problems("tasks:\n  t:\n    cmd: echo\n    matrix:\n      os: [linux]\n      exclude: [{ os: linux }]\n")).toEqual([
      `/p/t.yaml:6: task "t": matrix.exclude leaves out every combination: a matrix makes at least one task`,
    ]);
    const seventeen = `[${Array.from({ length: 17 }, (_, i) => i).join(", ")}]`;
    expect(problems(`tasks:\n  t:\n    cmd: echo\n    matrix: { a: ${seventeen}, b: ${seventeen} }\n`)).toEqual([
      `/p/t.yaml:4: task "t": matrix makes 289 combinations of its values, and a task's matrix makes at most 256: split it into several tasks`,
    ]);
    expect(problems("tasks:\n  t:\n    cmd: echo\n    matrix: { v: [x] }\n  t:x: { cmd: echo }\n")).toEqual([`/p/t.yaml:5: task "t:x" is defined twice: rename one of them`]);
    expect(problems("tasks:\n  t:x: { cmd: echo }\n  t:\n    cmd: echo\n    matrix: { v: [x] }\n")).toEqual([
      `/p/t.yaml:3: task "t": its matrix makes the task name t:x, which another task has: rename one of them`,
    ]);
    expect(problems("tasks:\n  t:\n    cmd: echo\n    keep_open: true\n    matrix: { v: [x] }\n")).toEqual([
      `/p/t.yaml:5: task "t": a keep_open task is one conversation, and a matrix makes several tasks: keep one of matrix and keep_open`,
    ]);
    expect(problems("tasks:\n  t:\n    cmd: echo\n    strategy: { v: [x] }\n")[0]).toContain('unknown key "strategy"; a task may have');
  });
});

describe("a task's sources and generates", () => {
  it("are lists of globs given together, a matrix's values put in; one without the other, or an empty glob, is refused with the line and the fix", () => {
    const file = parseTaskFile("/p/t.yaml", "tasks:\n  b:\n    matrix: { os: [linux] }\n    cmd: make\n    sources: [src/**, 'cfg/{{ matrix.os }}.mk']\n    generates: dist/{{ matrix.os }}\n");
    expect(file.tasks.get("b:linux")).toMatchObject({ sources: ["src/**", "cfg/linux.mk"], generates: ["dist/linux"] });
    expect(file.tasks.get("b")!.sources).toBeUndefined();
    expect(problems("tasks:\n  b:\n    cmd: make\n    sources: [src/**]\n")).toEqual([
      `/p/t.yaml:4: task "b": sources without generates: what a task makes is what tells it is up to date (make's target): add generates: [dist/app.js], or leave sources out`,
    ]);
    expect(problems("tasks:\n  b:\n    cmd: make\n    generates: [dist]\n")).toEqual([
      `/p/t.yaml:4: task "b": generates without sources: a task is up to date when what it makes is no older than what it makes it from: add sources: [src/**], or leave generates out`,
    ]);
    expect(problems("tasks:\n  b:\n    cmd: make\n    sources: ['']\n    generates: [dist]\n")).toEqual([`/p/t.yaml:4: task "b": sources: a glob is empty: each names files from the run's cwd (src/**/*.ts)`]);
    expect(problems("tasks:\n  b:\n    cmd: serve\n    readiness: { tcp: 'h:1' }\n    sources: [a]\n    generates: [b]\n")).toEqual([
      `/p/t.yaml:5: task "b": a service (readiness:) runs for its downstreams while they need it, up to date or not: leave sources and generates out, or readiness`,
    ]);
    expect(problems("tasks:\n  b:\n    cmd: make\n    outputs: [dist]\n")[0]).toContain("(what a task makes, which says it is up to date, is generates: [dist/app.js] beside sources:)");
  });
});
