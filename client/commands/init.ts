import { writeFileSync } from "node:fs";
import { CliError, usageError } from "../cli-error.js";
import { parseCommandLine } from "../command-line.js";
import { absolutePath } from "../paths.js";
import { TASK_FILE_NAME } from "../task-file.js";

export const INIT_USAGE = `  tether init [--file F]                      write a starter ${TASK_FILE_NAME} here (a default task, and the keys
                                              a task takes, commented), as task --init does; never over one`;

/**
 * The starter task file: one task that runs (tether run), and DESIGN's
 * sketch of what else a task says, commented out, to uncomment and edit.
 */
const STARTER = `# Tasks that tether runs as sessions: tether run TASK (no TASK: default),
# tether tasks lists them. Each run goes on when the terminal closes.
tasks:
  default:
    cmd: echo "hello from tether"

  # build:
  #   cmd: npm run build -- --mode {{ inputs.mode }}
  #   sources: [src/**]          # with generates: it runs nothing while dist is no older (make's up to date)
  #   generates: [dist]
  #   inputs:
  #     mode: { type: choice, choices: [dev, prod], default: dev }
  # serve:
  #   cmd: node server.js
  #   upstream: [build]
  #   env: { PORT: "8080" }
  #   readiness: { http: "http://127.0.0.1:8080/health", interval: 1s, timeout: 60s, health_interval: 30s }
  # test:
  #   cmd: ["npm", "test"]
  #   upstream: [serve]
  #   retries: 1
  #   timeout: 10m
  # lint:
  #   cmd: npm run lint
  #   allow_failure: true        # it may fail: its run says so, the graph goes on
  # compat:
  #   cmd: tox -e py{{ matrix.python }}
  #   matrix: { python: ["3.11", "3.12"] }   # a task of each value: compat:3.11, compat:3.12
  # cleanup:
  #   cmd: rm -rf tmp
  #   upstream: [test, lint]
  #   when: always               # once they have ended, passed or not (on_failure: only if one failed)
  # ci:
  #   upstream: [test, lint]     # no cmd: a group, done once they are
  # review:
  #   cmd: ./review.sh           # may \`tether wait approval\` for a human's answer
  #   streams: { approval: input }
  #   keep_open: true
`;

/** `tether init`: a starter task file, never written over an existing one. Needs no daemon. */
export function initCommand(args: string[]): number {
  const { values, positionals } = parseCommandLine({ args, allowPositionals: true, options: { file: { type: "string", default: TASK_FILE_NAME } } });
  if (positionals.length > 0) throw usageError(INIT_USAGE);
  const path = absolutePath(values.file);
  try {
    writeFileSync(path, STARTER, { flag: "wx" });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") throw new CliError(`${path} exists already: tether tasks lists its tasks (init writes only a new file)`);
    throw new CliError(`cannot write ${path}: ${(error as Error).message}`);
  }
  process.stdout.write(`wrote ${path}: tether run runs its default task, tether tasks lists them\n`);
  return 0;
}
