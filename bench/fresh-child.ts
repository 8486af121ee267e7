/** One measurement in a process of its own (fresh-process.ts): `fresh-child.ts NAME ARGS...` prints its result as JSON. */
import { KEYSTROKE_LOOPS } from "./keystrokes.js";
import { READERS } from "./readers.js";

const MEASURES: Record<string, (...args: string[]) => Promise<unknown>> = { ...READERS, ...KEYSTROKE_LOOPS };

const [name, ...args] = process.argv.slice(2);
const measure = MEASURES[name!];
if (measure === undefined) throw new Error(`no bench measurement ${name}: one of ${Object.keys(MEASURES).join(", ")}`);
process.stdout.write(`${JSON.stringify(await measure(...args))}\n`);
// node-pty and HTTP/2 sessions may hold the event loop a moment longer; the measurement is done.
process.exit(0);
