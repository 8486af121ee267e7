/** One read in a process of its own (readers.ts): `reader-child.ts NAME ARGS...` prints the ReadResult as JSON. */
import { READERS, type ReaderName } from "./readers.js";

const [name, ...args] = process.argv.slice(2);
const reader = READERS[name as ReaderName] as ((...args: string[]) => ReturnType<(typeof READERS)[ReaderName]>) | undefined;
if (reader === undefined) throw new Error(`no bench reader ${name}: one of ${Object.keys(READERS).join(", ")}`);
process.stdout.write(`${JSON.stringify(await reader(...args))}\n`);
// node-pty and HTTP/2 sessions may hold the event loop a moment longer; the read is done.
process.exit(0);
