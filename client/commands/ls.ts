import { timestampMs } from "@bufbuild/protobuf/wkt";
import { parseCommandLine } from "../command-line.js";
import { SessionActivity, SessionStatus, type Session } from "../../gen/tether/v1/session_pb.js";
import { SessionOutcome, SessionService } from "../../gen/tether/v1/session_service_pb.js";
import { CliError } from "../cli-error.js";
import { enumFromName, enumName } from "../enum-names.js";
import { labelsText } from "../labels-text.js";
import { formatDuration, formatElapsed, printTable } from "../../common/format.js";
import type { ClientPaths } from "../paths.js";
import { sessionJson } from "../session-json.js";
import { LISTING_FLAGS, printedAs } from "../listing-flags.js";
import { connectToDaemon } from "../transport.js";

export const LS_USAGE = `  tether ls [--status S] [--task T] [--label k=v|k ...] [-n N | --all] [--json | -q]
                                              sessions, newest first (50 unless -n or --all); --status: open,
                                              closed, cancelled, expired; idle, queued, running, waiting (open ones
                                              doing that now); succeeded, failed (by exit code, 0 or not);
                                              --label: those with label k set to v, or set at all (as ws ls);
                                              -q/--quiet: their ids alone, as docker ps -q`;

const DEFAULT_LIMIT = 50;

/** `tether ls`: one page of sessions, newest first; the daemon pages by key, so 10,000 sessions list as fast as 10. */
export async function lsCommand(args: string[], paths: ClientPaths): Promise<number> {
  const { values } = parseCommandLine({
    args,
    options: {
      status: { type: "string" },
      task: { type: "string", default: "" },
      label: { type: "string", short: "l", multiple: true, default: [] },
      limit: { type: "string", short: "n" },
      all: { type: "boolean", default: false },
      ...LISTING_FLAGS,
    },
  });
  const filter = statusFilter(values.status);
  const limit = values.all ? Infinity : values.limit === undefined ? DEFAULT_LIMIT : Number(values.limit);
  if (!(limit > 0)) throw new CliError(`-n takes a positive number, got ${JSON.stringify(values.limit)}`, 2);
  const { client } = await connectToDaemon(paths);
  const sessions: Session[] = [];
  let pageToken = "";
  let more = false;
  do {
    const pageSize = Math.min(1000, limit - sessions.length);
    const page = await client.unary(SessionService.method.listSessions, { pageSize, pageToken, ...filter, task: values.task, labelSelector: values.label });
    sessions.push(...page.sessions);
    pageToken = page.nextPageToken;
    more = pageToken !== "";
  } while (more && sessions.length < limit);
  if (printedAs(values, sessions, (s) => s.id, sessionJson)) return 0;
  const now = Date.now();
  const labelled = sessions.some((s) => Object.keys(s.labels).length > 0);
  const rows = sessions.map((s) => {
    const created = s.createTime === undefined ? 0 : timestampMs(s.createTime);
    const ended = s.endTime === undefined ? now : timestampMs(s.endTime);
    const state = s.status === SessionStatus.OPEN ? `open/${enumName(SessionActivity, s.activity)}${s.paused ? " (paused)" : ""}${s.unhealthy ? " (unhealthy)" : ""}${s.waitingFor !== "" ? `: ${s.waitingFor}` : ""}` : enumName(SessionStatus, s.status);
    // A keep_open session whose graph has finished has its outcome while it stays open.
    const outcome = s.status === SessionStatus.OPEN && !s.graphFinished ? "" : s.error !== "" ? `exit ${s.exitCode}: ${s.error}` : `exit ${s.exitCode}`;
    const row = [s.id, s.task, state, `${formatDuration(now - created)} ago`, formatElapsed(ended - created)];
    // Labels, where some session listed has any (an agent's tags), before the outcome that may run long.
    return labelled ? [...row, labelsText(s.labels), outcome] : [...row, outcome];
  });
  const header = ["SESSION", "TASK", "STATUS", "CREATED", "DURATION", ...(labelled ? ["LABELS"] : []), "OUTCOME"];
  printTable(header, rows);
  if (more) process.stdout.write(`(newest ${sessions.length} shown: -n N or --all for more)\n`);
  return 0;
}

/**
 * What `ls --status` asks for: a status (open, closed, cancelled,
 * expired), an open session's activity now (idle, queued, running,
 * waiting: the words ls shows after open/), or an outcome (succeeded,
 * failed), as docker ps --filter status= and pueue status take a word of
 * what they show.
 */
function statusFilter(word: string | undefined): { status?: SessionStatus; activity?: SessionActivity; outcome?: SessionOutcome } {
  if (word === undefined) return {};
  const status = enumFromName<SessionStatus>(SessionStatus, word);
  if (status !== undefined) return { status };
  const activity = enumFromName<SessionActivity>(SessionActivity, word);
  if (activity !== undefined) return { activity };
  const outcome = enumFromName<SessionOutcome>(SessionOutcome, word);
  if (outcome !== undefined) return { outcome };
  throw new CliError(`--status takes open, closed, cancelled, expired, idle, queued, running, waiting, succeeded or failed, got ${JSON.stringify(word)}`, 2);
}
