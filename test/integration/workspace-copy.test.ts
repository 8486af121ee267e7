import { Code } from "@connectrpc/connect";
import { execFileSync } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ErrorReason } from "../../gen/tether/v1/errors_pb.js";
import { ExecService } from "../../gen/tether/v1/exec_service_pb.js";
import { WorkspaceService } from "../../gen/tether/v1/workspace_service_pb.js";
import { daemonPerTest } from "../helpers/daemon.js";
import { failure } from "../helpers/errors.js";
import { execToEnd } from "../helpers/execs.js";

const daemon = daemonPerTest();

const made: string[] = [];
afterEach(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A project to copy: a file, an executable script in a subdirectory, a relative and an absolute symlink, and a FIFO. */
function project(): string {
  const dir = mkdtempSync(join(tmpdir(), "tether-copy-"));
  made.push(dir);
  writeFileSync(join(dir, "README"), "hello\n");
  mkdirSync(join(dir, "bin"));
  writeFileSync(join(dir, "bin", "run.sh"), "#!/bin/sh\necho ran\n", { mode: 0o755 });
  symlinkSync("README", join(dir, "readme-link"));
  symlinkSync("/etc/hostname", join(dir, "host-link"));
  execFileSync("mkfifo", [join(dir, "pipe")]);
  return dir;
}

describe("ws create --copy (CreateWorkspaceRequest.copy_from)", () => {
  it("starts a new workspace as a copy of a directory, as cp -a: modes, symlinks as they are, no FIFO; the source is untouched, and removing the workspace removes the copy only", async () => {
    const d = await daemon();
    const ws = d.client(WorkspaceService);
    const src = project();
    const { workspace } = await ws.createWorkspace({ displayName: "scratch", copyFrom: src });
    const root = workspace!.root;
    expect(root).not.toBe(src);
    expect(workspace!.adopted).toBe(false);
    expect(statSync(root).mode & 0o777).toBe(0o700);
    expect(readFileSync(join(root, "README"), "utf8")).toBe("hello\n");
    expect(statSync(join(root, "bin", "run.sh")).mode & 0o777).toBe(0o755);
    expect(readlinkSync(join(root, "readme-link"))).toBe("README");
    expect(readlinkSync(join(root, "host-link"))).toBe("/etc/hostname");
    expect(existsSync(join(root, "pipe"))).toBe(false);
    // Work in the copy leaves the source as it was.
    const ran = await execToEnd(d.client(ExecService), "scratch", ["sh", "-c", "./bin/run.sh; echo changed > README"]);
    expect(ran.stdout).toBe("ran\n");
    expect(readFileSync(join(src, "README"), "utf8")).toBe("hello\n");
    await ws.deleteWorkspace({ workspace: "scratch" });
    expect(existsSync(root)).toBe(false);
    expect(lstatSync(join(src, "pipe")).isFIFO()).toBe(true);
  });

  it("refuses a copy that is no directory, a relative path, one beside root, and one that holds the state directory; nothing is made", async () => {
    const d = await daemon();
    const ws = d.client(WorkspaceService);
    const src = project();
    for (const [request, reason, message] of [
      [{ copyFrom: join(src, "README") }, ErrorReason.PATH_NOT_ALLOWED, "is not a directory"],
      [{ copyFrom: "relative/dir" }, ErrorReason.INVALID_ARGUMENT, "copy_from must be an absolute path"],
      [{ copyFrom: join(src, "nope") }, ErrorReason.PATH_NOT_ALLOWED, "does not exist"],
      [{ copyFrom: src, root: src }, ErrorReason.INVALID_ARGUMENT, "give one of them"],
      [{ copyFrom: join(d.home, "..") }, ErrorReason.INVALID_ARGUMENT, "holds tether's state directory"],
    ] as const) {
      const refused = await failure(ws.createWorkspace({ displayName: "bad", ...request }));
      expect([refused.code, refused.reason, refused.message]).toEqual([Code.InvalidArgument, reason, expect.stringContaining(message)]);
    }
    expect((await ws.listWorkspaces({})).workspaces.map((w) => w.displayName)).not.toContain("bad");
    expect(existsSync(join(d.home, "workspaces")) ? execFileSync("ls", [join(d.home, "workspaces")], { encoding: "utf8" }) : "").toBe("");
  });
});
