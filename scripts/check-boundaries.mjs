// The daemon and the CLI share only common/ and gen/ (STYLE.md: client and
// daemon share the contract, never each other's modules); common/ uses
// neither. Lists every import that crosses, and fails when there is one.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const root = resolve(dirname(new URL(import.meta.url).pathname), "..");
const forbidden = { daemon: ["client"], client: ["daemon"], common: ["client", "daemon"] };
const crossings = [];
for (const [side, others] of Object.entries(forbidden)) {
  for (const file of readdirSync(join(root, side), { recursive: true })) {
    if (!String(file).endsWith(".ts")) continue;
    const path = join(root, side, String(file));
    for (const [, target] of readFileSync(path, "utf8").matchAll(/(?:from|import)\s*\(?\s*["'](\.[^"']+)["']/g)) {
      const top = relative(root, resolve(dirname(path), target)).split("/")[0];
      if (others.includes(top)) crossings.push(`${relative(root, path)} imports ${target}`);
    }
  }
}
if (crossings.length > 0) {
  console.error(`the daemon and the CLI share only common/ and gen/; these imports cross:\n  ${crossings.join("\n  ")}\nmove what both need to common/`);
  process.exit(1);
}
console.log("boundaries: daemon/, client/ and common/ import only what they may");
