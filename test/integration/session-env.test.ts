import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { SessionService } from "../../gen/tether/v1/session_service_pb.js";
import { CLI_ENTRY, daemonPerTest } from "../helpers/daemon.js";
import { failure } from "../helpers/errors.js";
import { logText, waitQuiet, writeTaskFile } from "../helpers/sessions.js";

const daemon = daemonPerTest();

const TASKS = `
tasks:
  show:
    env: { MODE: task, SEEN: "{{ env.FROM_SHELL }}" }
    cmd: 'echo "mode=$MODE shell=$FROM_SHELL seen=$SEEN file=$FROM_FILE venv=$(echo "$PATH" | grep -c /opt/venv/bin)"'
`;

describe("a session's env from its start (tether run -E, --env, --dotenv)", () => {
  it("-E gives its runs the shell's environment under each task's env; --env and --dotenv go over it; a rerun gets the same; a name no process can have is refused", async () => {
    const d = await daemon();
    const file = writeTaskFile(TASKS);
    const dir = dirname(file);
    writeFileSync(join(dir, "vars.env"), "FROM_FILE=filed\nMODE=from-file\n");
    const shell = { ...d.env, FROM_SHELL: "yes", MODE: "shell", PATH: `/opt/venv/bin:${process.env["PATH"]}` };
    const cli = (...args: string[]) => spawnSync(process.execPath, [CLI_ENTRY, ...args], { env: shell, encoding: "utf8", cwd: dir });
    expect(cli("run", "show").stdout).toBe("show | mode=task shell= seen= file= venv=0\n");
    expect(cli("run", "show", "-E").stdout).toBe("show | mode=task shell=yes seen=yes file= venv=1\n");
    expect(cli("run", "show", "--dotenv", "vars.env").stdout).toBe("show | mode=from-file shell= seen= file=filed venv=0\n");
    const given = cli("run", "show", "-E", "--dotenv", "vars.env", "--env", "MODE=cli", "-d");
    const id = given.stdout.trim();
    const client = d.client(SessionService);
    await waitQuiet(client, id);
    expect((await logText(client, id)).stdout).toBe("mode=cli shell=yes seen=yes file=filed venv=1\n");
    // A rerun, from a shell without them: the session's env was stored with it.
    const { session: again } = await client.rerunSession({ name: `sessions/${id}` });
    await waitQuiet(client, again!.id);
    expect((await logText(client, again!.id)).stdout).toBe("mode=cli shell=yes seen=yes file=filed venv=1\n");

    const bad = await failure(client.startSession({ task: "show", taskFile: file, env: { "A=B": "x" } }));
    expect(bad).toMatchObject({ code: Code.InvalidArgument, message: 'environment variable name "A=B" is not allowed: no \'=\' or NUL, not empty' });
    const badInherited = await failure(client.startSession({ task: "show", taskFile: file, inheritedEnv: { "": "x" } }));
    expect(badInherited.code).toBe(Code.InvalidArgument);
  });
});
