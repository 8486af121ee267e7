import { homedir } from "node:os";
import { describe, expect, it } from "vitest";
import { resolveTetherPaths } from "../../common/paths.js";

describe("where tether keeps its state and listens", () => {
  it("follows TETHER_HOME and TETHER_SOCKET, then the XDG directories, then ~/.local/state", () => {
    expect(resolveTetherPaths({ TETHER_HOME: "/h/", TETHER_SOCKET: "/s/t.sock" })).toEqual({ stateDir: "/h", socketPath: "/s/t.sock", socketDirIsOurs: false });
    expect(resolveTetherPaths({ XDG_STATE_HOME: "/state", XDG_RUNTIME_DIR: "/run/user/1" })).toEqual({ stateDir: "/state/tether", socketPath: "/run/user/1/tether/tether.sock", socketDirIsOurs: true });
    expect(resolveTetherPaths({ TETHER_HOME: "", TETHER_SOCKET: "" })).toEqual({ stateDir: `${homedir()}/.local/state/tether`, socketPath: `${homedir()}/.local/state/tether/run/tether.sock`, socketDirIsOurs: true });
  });

  it("refuses a relative TETHER_HOME or TETHER_SOCKET, and ignores a relative XDG directory as the XDG specification asks", () => {
    expect(() => resolveTetherPaths({ TETHER_HOME: "state" })).toThrow('TETHER_HOME must be an absolute path (it is "state")');
    expect(() => resolveTetherPaths({ TETHER_SOCKET: "./t.sock" })).toThrow('TETHER_SOCKET must be an absolute path (it is "./t.sock")');
    expect(resolveTetherPaths({ XDG_STATE_HOME: "rel/state", XDG_RUNTIME_DIR: "run" })).toEqual({ stateDir: `${homedir()}/.local/state/tether`, socketPath: `${homedir()}/.local/state/tether/run/tether.sock`, socketDirIsOurs: true });
  });
});
