import { timestampFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import type { Event } from "../../gen/tether/v1/event_pb.js";
import { EventService } from "../../gen/tether/v1/event_service_pb.js";
import { CliError, whenDaemonStopped } from "../cli-error.js";
import { parseCommandLine } from "../command-line.js";
import { parseSinceFlag, wholeNumberFlag } from "../flags.js";
import type { ClientPaths } from "../paths.js";
import { connectToDaemon } from "../transport.js";

export const EVENTS_USAGE = `  tether events [--since 10m | --after SEQ] [--type session|exec|pty|workspace ...] [--id ID|NAME ...] [--label k=v|k ...] [--no-follow] [--json]
                                              the daemon's changes as they happen, as docker events: sessions started
                                              and ended, runs' transitions, execs and PTYs started and ended,
                                              workspaces made and removed; --since: the kept ones (the last 1000)
                                              from then first; --after: those after an event's sequence (to go on
                                              where a watch left); --label: of what has those labels (an agent's);
                                              --no-follow: only those kept, then exit`;

/** `tether events`: one line per event (or a JSON object with --json), until Ctrl-C. */
export async function eventsCommand(args: string[], paths: ClientPaths): Promise<number> {
  const { values, positionals } = parseCommandLine({
    args,
    allowPositionals: true,
    options: {
      since: { type: "string" },
      after: { type: "string" },
      type: { type: "string", multiple: true, default: [] },
      id: { type: "string", multiple: true, default: [] },
      label: { type: "string", short: "l", multiple: true, default: [] },
      "no-follow": { type: "boolean", default: false },
      json: { type: "boolean", default: false },
    },
  });
  if (positionals.length > 0) throw new CliError(`usage:\n${EVENTS_USAGE}`, 2);
  if (values.since !== undefined && values.after !== undefined) throw new CliError("--since and --after both say where to start: give one of them", 2);
  const sinceMs = parseSinceFlag(values.since, false);
  const after = values.after === undefined ? 0 : wholeNumberFlag("--after", values.after, "an event's sequence (tether events --json shows them)");
  if (values["no-follow"] && sinceMs === undefined && values.after === undefined) throw new CliError("--no-follow prints the events kept from a time (--since) or after a sequence (--after): give one of them", 2);
  const { client } = await connectToDaemon(paths);
  const stop = new AbortController();
  process.once("SIGINT", () => stop.abort());
  // --after 0: every kept one (after_sequence 0 is none asked for, as unset).
  const from = after === 0 && values.after !== undefined ? 0 : sinceMs;
  const request = { since: from === undefined ? undefined : timestampFromMs(from), afterSequence: BigInt(after), types: values.type, ids: values.id, labelSelector: values.label };
  try {
    // The first answer holds the kept events asked for (perhaps none): --no-follow ends after it.
    for await (const { events, missed } of client.serverStream(EventService.method.watchEvents, request, { signal: stop.signal })) {
      if (missed > 0n) process.stderr.write(`tether: ${missed} event(s) missed (no longer kept, or they came faster than this command read them)\n`);
      const text = events.map((event) => `${values.json ? eventJson(event) : eventLine(event)}\n`).join("");
      if (!process.stdout.write(text)) await new Promise((resolve) => process.stdout.once("drain", resolve));
      if (values["no-follow"]) return 0;
    }
  } catch (error) {
    if (stop.signal.aborted) return 130;
    throw whenDaemonStopped(error, "watching its events");
  }
  return 0;
}

/** An event as docker events prints one: its time, type, action and id, then its attributes, then its resource's labels in braces. */
function eventLine(event: Event): string {
  const pairs = (map: Record<string, string>): string[] =>
    Object.entries(map)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([key, value]) => `${key}=${value}`);
  const attributes = pairs(event.attributes);
  const labels = pairs(event.labels);
  const time = event.time === undefined ? "" : new Date(timestampMs(event.time)).toISOString();
  return `${time} ${event.type} ${event.action} ${event.id}${attributes.length === 0 ? "" : ` (${attributes.join(", ")})`}${labels.length === 0 ? "" : ` {${labels.join(", ")}}`}`;
}

function eventJson(event: Event): string {
  const time = event.time === undefined ? null : new Date(timestampMs(event.time)).toISOString();
  return JSON.stringify({ sequence: Number(event.sequence), time, type: event.type, action: event.action, id: event.id, attributes: event.attributes, labels: event.labels });
}
