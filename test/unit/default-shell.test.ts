import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { defaultShell } from "../../common/default-shell.js";

describe("the shell a terminal opens when given none", () => {
  it("is SHELL when it can run, else the login shell, as tmux picks it: a SHELL gone, relative or not executable is passed over", () => {
    const login = userInfo().shell ?? "/bin/sh";
    expect(defaultShell({ SHELL: "/bin/sh" })).toBe("/bin/sh");
    expect(defaultShell({})).toBe(login);
    expect(defaultShell({ SHELL: "" })).toBe(login);
    expect(defaultShell({ SHELL: "/nonexistent/bin/zsh" })).toBe(login);
    expect(defaultShell({ SHELL: "bash" })).toBe(login);
    const plain = join(mkdtempSync(join(tmpdir(), "tether-shell-")), "not-executable");
    writeFileSync(plain, "", { mode: 0o644 });
    expect(defaultShell({ SHELL: plain })).toBe(login);
    expect(defaultShell({ SHELL: tmpdir() })).toBe(login);
  });
});
