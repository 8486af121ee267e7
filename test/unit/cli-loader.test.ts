import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ROOT } from "../helpers/daemon.js";

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** The built CLI entry (dist/tether.cjs) beside a bundle of our own. */
function loaderWith(bundle: string): { dir: string; run: () => string } {
  const dir = mkdtempSync(join(tmpdir(), "tether-loader-"));
  dirs.push(dir);
  copyFileSync(join(ROOT, "dist", "tether.cjs"), join(dir, "tether.cjs"));
  writeFileSync(join(dir, "cli.cjs"), bundle);
  return { dir, run: () => spawnSync(process.execPath, [join(dir, "tether.cjs")], { encoding: "utf8" }).stdout.trim() };
}

describe("the CLI loader's code cache", () => {
  it("is written on the first run, used after, and never used for another bundle, even one of the same length", () => {
    const { dir, run } = loaderWith('console.log("build A")');
    expect(run()).toBe("build A");
    expect(readdirSync(dir).filter((f) => f.endsWith(".cache"))).toHaveLength(1);
    expect(run()).toBe("build A");
    // A new build of exactly the same length: V8 alone would accept the old cache and run build A.
    writeFileSync(join(dir, "cli.cjs"), 'console.log("build B")');
    expect(run()).toBe("build B");
    expect(run()).toBe("build B");
  });
});

describe("the built CLI bundle", () => {
  it("holds no import() of its own: code run from V8's cache cannot import() in Node 20", () => {
    const bundle = readFileSync(join(ROOT, "dist", "cli.cjs"), "utf8");
    expect(bundle.match(/[^\w$.]import\(/g) ?? []).toEqual([]);
  });
});
