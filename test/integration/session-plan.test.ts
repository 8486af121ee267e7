import { Code } from "@connectrpc/connect";
import { mkdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { ErrorReason } from "../../gen/tether/v1/errors_pb.js";
import { PlannedCondition } from "../../gen/tether/v1/session_service_pb.js";
import { SessionService } from "../../gen/tether/v1/session_service_pb.js";
import { WorkspaceService } from "../../gen/tether/v1/workspace_service_pb.js";
import { daemonPerTest } from "../helpers/daemon.js";
import { failure } from "../helpers/errors.js";
import { writeTaskFile } from "../helpers/sessions.js";

const daemon = daemonPerTest();

const GRAPH = `
tasks:
  build:
    cmd: echo "build {{ inputs.mode }} for $USER" {{ inputs.mode | quote }}
    inputs:
      mode: { type: choice, choices: [dev, prod], default: dev }
  lint:
    cmd: [eslint, "{{ inputs.path }}"]
    condition: "{{ inputs.strict }}"
    inputs:
      path: { default: "src dir" }
      strict: { type: bool, default: "no" }
  test:
    upstream: [build, lint]
    cmd: ./run-tests --token {{ inputs.token }} --from {{ xcom.build }}
    condition: "{{ xcom.build }}"
    cwd: sub
    inputs:
      token: { type: secret }
  ship:
    upstream: [test]
    workspace: boxed
    condition: "{{ env.HOME }}"
    cmd: "echo shipped"
`;

describe("PlanSession (tether run --dry-run)", () => {
  it("says what a session would run, upstreams first, with inputs and env rendered, conditions decided where they can be, and starts and adopts nothing", async () => {
    const d = await daemon();
    const sessions = d.client(SessionService);
    const workspaces = d.client(WorkspaceService);
    const file = writeTaskFile(GRAPH);
    const dir = dirname(file);
    mkdirSync(join(dir, "sub"));
    const plan = await sessions.planSession({ task: "test", taskFile: file, inputs: { mode: "prod", token: "hunter2" } });
    expect(plan.taskFile).toBe(file);
    // Defaults filled in, in their canonical form; the secret never shown.
    expect(plan.inputs).toEqual({ mode: "prod", path: "src dir", strict: "false", token: expect.not.stringContaining("hunter2") });
    expect(plan.tasks.map((t) => t.task!.name)).toEqual(["tasks/build", "tasks/lint", "tasks/test"]);
    const [build, lint, test] = plan.tasks;
    // Inputs rendered, a filter applied; $USER is the shell's, left to it.
    expect(build!.command).toBe(`echo "build prod for $USER" 'prod'`);
    expect(build!.condition).toBe(PlannedCondition.NONE);
    // An argv command shown as a command line; its condition false now.
    expect(lint!.command).toBe("eslint 'src dir'");
    expect(lint!.condition).toBe(PlannedCondition.FAILS);
    // An upstream's xcom is kept as written, in the command and the condition alike; the secret as its placeholder.
    expect(test!.command).toBe(`./run-tests --token ${plan.inputs["token"]} --from {{ xcom.build }}`);
    expect(test!.condition).toBe(PlannedCondition.DEFERRED);
    // The task file's directory has no workspace yet: it would be adopted, and its cwd is inside it.
    expect(plan.workspace).toMatchObject({ name: "", root: dir });
    expect(build!.workingDirectory).toBe(dir);
    expect(test!.workingDirectory).toBe(join(dir, "sub"));
    expect(test!.task!.upstream).toEqual(["build", "lint"]);
    // Nothing started, nothing adopted.
    expect((await sessions.listSessions({})).sessions).toEqual([]);
    expect((await workspaces.listWorkspaces({})).workspaces).toEqual([]);

    // A workspace named: the plan says which; a task's own workspace, once it exists, is its; env renders.
    const { workspace } = await workspaces.createWorkspace({ displayName: "boxed" });
    const shipped = await sessions.planSession({ task: "ship", taskFile: file, inputs: { token: "x" }, workspace: "boxed" });
    expect(shipped.workspace).toMatchObject({ name: workspace!.name, displayName: "boxed", root: workspace!.root });
    expect(shipped.tasks.at(-1)).toMatchObject({ command: "echo shipped", condition: PlannedCondition.HOLDS, workingDirectory: workspace!.root });
    expect(shipped.tasks.at(-1)!.workspace).toMatchObject({ displayName: "boxed" });
  });

  it("is refused as a start would be: a missing or bad input, an unknown task, a task's missing workspace, a task file that does not load", async () => {
    const d = await daemon();
    const sessions = d.client(SessionService);
    const file = writeTaskFile(GRAPH);
    const missing = await failure(sessions.planSession({ task: "test", taskFile: file }));
    expect(missing).toMatchObject({ code: Code.InvalidArgument, reason: ErrorReason.INPUT_INVALID });
    expect(missing.message).toContain("missing required input token: pass --input token=VALUE");
    const bad = await failure(sessions.planSession({ task: "build", taskFile: file, inputs: { mode: "staging" } }));
    expect(bad).toMatchObject({ code: Code.InvalidArgument, reason: ErrorReason.INPUT_INVALID });
    const unknown = await failure(sessions.planSession({ task: "tset", taskFile: file }));
    expect(unknown).toMatchObject({ code: Code.NotFound, reason: ErrorReason.TASK_NOT_FOUND });
    expect(unknown.message).toContain("did you mean test?");
    const noWorkspace = await failure(sessions.planSession({ task: "ship", taskFile: file, inputs: { token: "x" } }));
    expect(noWorkspace).toMatchObject({ code: Code.NotFound, reason: ErrorReason.WORKSPACE_NOT_FOUND });
    expect(noWorkspace.message).toMatch(/^task "ship" runs in workspace "boxed": no workspace "boxed"/);
    rmSync(file);
    expect(await failure(sessions.planSession({ task: "build", taskFile: file }))).toMatchObject({ code: Code.NotFound });
    expect(await failure(sessions.planSession({ task: "", taskFile: file }))).toMatchObject({ code: Code.InvalidArgument });
    expect((await sessions.listSessions({})).sessions).toEqual([]);
  });
});
