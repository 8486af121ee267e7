/** How long the daemon is held reading a large task file, against the YAML library's parse of the same text alone. */
import { writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LineCounter, parseDocument } from "yaml";
import { TaskService } from "../gen/tether/v1/task_service_pb.js";
import { TASK_FILE_MAX_BYTES } from "../daemon/tasks/task-file-text.js";
import type { TestDaemon } from "../test/helpers/daemon.js";
import type { Report } from "./sessions.js";
import { median } from "./stats.js";

const ROUNDS = 5;

/** A chain of tasks, each with a command and an upstream, filling a file to just under the daemon's limit. */
function largeTaskFile(): { text: string; tasks: number } {
  const lines = ["tasks:", "  t0: { cmd: echo 0 }"];
  let bytes = lines.join("\n").length;
  for (let i = 1; ; i++) {
    const line = `  t${i}: { cmd: "echo ${i}", upstream: [t${i - 1}] }`;
    // Room for the comment line each round adds (a changed text is parsed again, not taken from the daemon's cache).
    if (bytes + line.length + 1 > TASK_FILE_MAX_BYTES - 64) return { text: `${lines.join("\n")}\n`, tasks: i };
    lines.push(line);
    bytes += line.length + 1;
  }
}

export async function benchTaskFile(d: TestDaemon, report: Report): Promise<void> {
  const { text, tasks } = largeTaskFile();
  const path = join(mkdtempSync(join(tmpdir(), "tether-bench-tasks-")), "tether.yaml");
  const client = d.client(TaskService);
  const floors: number[] = [];
  const ours: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const changed = `${text}# round ${round}\n`;
    let t = performance.now();
    parseDocument(changed, { lineCounter: new LineCounter(), uniqueKeys: false });
    floors.push(performance.now() - t);
    writeFileSync(path, changed);
    t = performance.now();
    const listed = await client.listTasks({ taskFile: path });
    ours.push(performance.now() - t);
    if (listed.tasks.length !== tasks) throw new Error(`listed ${listed.tasks.length} tasks of ${tasks}`);
  }
  const [floor, value] = [median(floors), median(ours)];
  report(
    `A task file at the size limit (${(text.length / 1024).toFixed(0)} KiB, a chain of ${tasks} tasks) read afresh: tether tasks, the daemon held (median of ${ROUNDS})`,
    `${Math.round(value)} ms`,
    `the yaml library's parse of the same text alone ${Math.round(floor)} ms`,
    value / floor,
    // The parse, checked and answered: the rest is mostly the daemon's garbage collection, its young generation kept
    // small for memory (--max-semi-space-size=4: with 32, 1.25× here).
    "≤ 2×",
    value / floor <= 2,
  );
}
