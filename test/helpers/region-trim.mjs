// Run with --expose-gc: reads a file through native/reader.c the way a
// streaming process's output goes through the daemon (regions freed as it
// goes, one still held at the end), then asks trimWhenQuiet() to give the
// freed memory back. Prints what it measured as JSON.
import { createRequire } from "node:module";
import { openSync, readFileSync } from "node:fs";

const [addonPath, warmPath, bigPath] = process.argv.slice(2);
const addon = createRequire(import.meta.url)(addonPath);
const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync("/proc/self/status", "utf8"))[1]) * 1024;
const settle = async () => {
  global.gc();
  // V8 frees an external buffer's memory through a callback on a later turn of the loop.
  await new Promise((r) => setTimeout(r, 100));
  global.gc();
  await new Promise((r) => setTimeout(r, 100));
};
/** Reads `path` to its end; returns the views handed on. */
function readAll(path) {
  return new Promise((resolve) => {
    const views = [];
    addon.open(openSync(path, "r"), 256 * 1024, 0, (region, offset, length) => {
      if (region === null) resolve(views);
      else views.push(new Uint8Array(region, offset, length));
    });
  });
}

// A first stream whose regions are freed: from then on glibc keeps regions of this size in a thread's arena.
await readAll(warmPath);
await settle();
const views = await readAll(bigPath);
const held = rss();
const last = views.at(-1);
views.length = 0;
await settle();
const freed = rss();
const looks = [addon.trimWhenQuiet(), addon.trimWhenQuiet()];
await new Promise((r) => setTimeout(r, 300));
const trimmed = rss();
const again = addon.trimWhenQuiet();
process.stdout.write(JSON.stringify({ held, freed, trimmed, looks, again, lastBytes: last.byteLength }));
