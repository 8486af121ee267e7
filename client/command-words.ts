import { closestWord } from "../common/closest-word.js";

/**
 * Other tools' words for tether's commands, by the command they follow:
 * docker's (ps, logs, inspect), pueue's (add, follow, restart), tmux's
 * (capture-pane, send-keys), kubectl's and plain English's (list, delete),
 * each with what it is here. Only words that mean one thing here are
 * listed (`tether stop` could be the daemon's or a session's: left out).
 */
const OTHER_WORDS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  tether: { ps: "ls", list: "ls", inspect: "show", follow: "logs -f", restart: "rerun", signal: "kill", add: "run", remove: "rm", delete: "rm" },
  "tether exec": { logs: "attach", ps: "ls", list: "ls", inspect: "show", status: "show", follow: "attach", signal: "kill", remove: "rm", delete: "rm", group: "queue", groups: "queue", parallel: "queue", queues: "queue" },
  "tether ws": { list: "ls", inspect: "show", new: "create", add: "create", remove: "rm", delete: "rm" },
  "tether pty": { list: "ls", inspect: "show", "capture-pane": "capture", "send-keys": "send -k", "rename-session": "rename", "kill-session": "kill", "attach-session": "attach", "detach-client": "detach", "list-clients": "show", remove: "rm", delete: "rm" },
};

/**
 * The subcommand of `command` ("tether", "tether exec") meant by `word`,
 * which is none of `subcommands`: its spelling of another tool's (`tether
 * ps`: ls), else the one it is close to (`tether lss`: ls); undefined when
 * neither.
 */
export function meantSubcommand(command: string, word: string, subcommands: readonly string[]): string | undefined {
  return OTHER_WORDS[command]?.[word] ?? closestWord(word, subcommands);
}
