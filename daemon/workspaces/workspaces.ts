import { mkdirSync } from "node:fs";
import { rm } from "node:fs/promises";
import { basename, isAbsolute, join } from "node:path";
import { Code } from "@connectrpc/connect";
import { TetherError, invalidArgument } from "../errors.js";
import { newId } from "../ids.js";
import type { Db } from "../store/database.js";
import type { LiveProcesses } from "./live-processes.js";
import { log } from "../log.js";
import { checkLabels, type LabelSelector } from "./labels.js";
import { ENV_VALUE_MAX_BYTES, WORKSPACE_ENV_MAX_VARIABLES, checkEnvNames } from "./launch.js";
import { requireSandbox } from "./sandbox.js";
import type { SandboxProfile, WorkspaceRecord, WorkspaceView } from "./types.js";
import { adoptableRoot, realDirectory } from "./workspace-paths.js";
import type { WorkspaceNetworks } from "./workspace-networks.js";
import { WorkspaceTables } from "./workspace-tables.js";
import { copyInto } from "./workspace-copy.js";
import { closestWord } from "../../common/closest-word.js";
import type { Events } from "../events.js";

export const WORKSPACE_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export interface CreateOptions {
  readonly name: string;
  /** An existing directory to adopt; empty creates one under the state dir. */
  readonly root: string;
  readonly sandbox: SandboxProfile;
  readonly noNetwork: boolean;
  readonly labels: Readonly<Record<string, string>>;
  /** Variables every process started in it gets (ws create --env). */
  readonly env: Readonly<Record<string, string>>;
  /** A directory whose files a new root starts with (ws create --copy; workspace-copy.ts); empty: none. */
  readonly copyFrom?: string | undefined;
}

/**
 * The workspaces: durable directories pinned to a sandbox profile, named by
 * id, id prefix or name. What is live in each comes from LiveProcesses.
 */
export class Workspaces {
  private readonly tables: WorkspaceTables;
  private nextSeq: number;
  /** What goes with a removed workspace: its execs and PTYs, with their output. */
  private readonly removals: ((ws: WorkspaceRecord) => Promise<void>)[] = [];
  /** Workspaces being removed (their live work stopped, their execs, PTYs and files deleted): nothing new starts in them meanwhile. */
  private readonly removing = new Set<string>();
  /** Set as the daemon starts to stop: nothing new starts anywhere (it would outlive the daemon, killed by none). */
  private stopping = false;

  constructor(
    db: Db,
    private readonly stateDir: string,
    readonly live: LiveProcesses,
    private readonly networks: WorkspaceNetworks,
    /** Where its changes are reported (create, stop, remove). */
    private readonly events: Events,
  ) {
    this.tables = new WorkspaceTables(db);
    this.nextSeq = this.tables.maxSeq() + 1;
  }

  /**
   * A new workspace; a --no-network one has its network up before anything
   * can start in it. An adopted directory given no name is named after it.
   */
  async create(given: CreateOptions): Promise<WorkspaceView> {
    const options = given.name === "" && given.root !== "" ? { ...given, name: this.nameFor(adoptableRoot(given.root, this.stateDir, given.sandbox !== "host")) } : given;
    this.check(options);
    const id = newId("w-", this.idTaken);
    const copied = await this.copied(id, options);
    try {
      if (!options.noNetwork) return this.insert(id, options);
      await this.networks.start(id);
      try {
        return this.insert(id, options);
      } catch (error) {
        this.networks.stop(id);
        throw error;
      }
    } catch (error) {
      if (copied !== undefined) await rm(copied, { recursive: true, force: true });
      throw error;
    }
  }

  /** With --copy: the new root, its files copied in before the workspace is (copyInto); undefined without. */
  private async copied(id: string, options: CreateOptions): Promise<string | undefined> {
    if ((options.copyFrom ?? "") === "") return undefined;
    if (options.root !== "") throw invalidArgument("copy_from", "a copy makes a new root, and root adopts a directory as it is: give one of them");
    const root = this.newRoot(id);
    await copyInto(options.copyFrom!, root, this.stateDir);
    return root;
  }

  /** Where a workspace tether makes keeps its files. */
  private newRoot(id: string): string {
    return join(this.stateDir, "workspaces", id);
  }

  /** Whether a new id would name a workspace already: another's id, or an active one's name (which the id would then shadow). */
  private readonly idTaken = (candidate: string): boolean => this.tables.byId(candidate) !== undefined || this.tables.activeByName(candidate) !== undefined;

  /** What a new workspace must satisfy; checked again on insert (another create may take the name meanwhile). */
  private check(options: CreateOptions): void {
    if (!WORKSPACE_NAME_PATTERN.test(options.name)) {
      throw new TetherError(Code.InvalidArgument, "INVALID_NAME", `workspace name ${JSON.stringify(options.name)} is not allowed: use 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit`, { field: "display_name" });
    }
    if (options.noNetwork && options.sandbox === "host") {
      throw invalidArgument("no_network", "the host profile cannot take the network away: use --sandbox bwrap with --no-network");
    }
    checkLabels(options.labels);
    checkWorkspaceEnv(options.env);
    requireSandbox(options);
    if (this.tables.activeByName(options.name) !== undefined) {
      throw new TetherError(Code.AlreadyExists, "WORKSPACE_ALREADY_EXISTS", `a workspace named ${options.name} already exists: pick another name, or remove it with tether ws rm ${options.name}`, { workspace: options.name });
    }
    // An id is looked up before a name: a workspace named as another's id could never be named.
    const holder = this.tables.byId(options.name);
    if (holder !== undefined) {
      throw new TetherError(Code.AlreadyExists, "WORKSPACE_ALREADY_EXISTS", `${options.name} is the id of workspace ${holder.name}, which it would always mean: pick another name`, { workspace: options.name });
    }
  }

  private insert(id: string, options: CreateOptions): WorkspaceView {
    this.check(options);
    const adopted = options.root !== "";
    const root = adopted ? adoptableRoot(options.root, this.stateDir, options.sandbox !== "host") : this.newRoot(id);
    if (!adopted) mkdirSync(root, { recursive: true, mode: 0o700 });
    const record: WorkspaceRecord = {
      seq: this.nextSeq++,
      id,
      name: options.name,
      root,
      adopted,
      sandbox: options.sandbox,
      noNetwork: options.noNetwork,
      labels: { ...options.labels },
      env: { ...options.env },
      state: "active",
      createdAt: Date.now(),
      deletedAt: undefined,
    };
    this.tables.insert(record);
    this.events.publish({ type: "workspace", action: "create", id, attributes: { name: record.name, root, sandbox: record.sandbox }, labels: record.labels });
    return this.view(record);
  }

  /** Starts the network of every active --no-network workspace (at daemon start); one that cannot start is logged, and its processes are refused until it can. */
  async startNetworks(): Promise<void> {
    const isolated = this.tables.page(0, Number.MAX_SAFE_INTEGER, false, []).filter((ws) => ws.noNetwork);
    await Promise.all(isolated.map((ws) => this.networks.start(ws.id).catch((error: unknown) => log(`workspace ${ws.name} (${ws.id}): ${(error as Error).message}`))));
  }

  get(ref: string): WorkspaceView {
    return this.view(this.resolve(ref));
  }

  /** The workspace by seq (for execs, whose rows point at it). */
  bySeq(seq: number): WorkspaceRecord | undefined {
    return this.tables.bySeq(seq);
  }

  /** Workspaces in creation order after `afterSeq`. */
  list(afterSeq: number, limit: number, includeArchived: boolean, selectors: readonly LabelSelector[]): WorkspaceView[] {
    return this.tables.page(afterSeq, limit, includeArchived, selectors).map((ws) => this.view(ws));
  }

  /** Sets and removes labels and env variables; the env applies to processes started after. */
  update(ref: string, change: { setLabels: Readonly<Record<string, string>>; removeLabels: readonly string[]; setEnv: Readonly<Record<string, string>>; removeEnv: readonly string[] }): WorkspaceView {
    const ws = this.resolve(ref);
    const labels = { ...ws.labels, ...change.setLabels };
    for (const key of change.removeLabels) delete labels[key];
    checkLabels(labels);
    const env = { ...ws.env, ...change.setEnv };
    for (const key of change.removeEnv) delete env[key];
    checkWorkspaceEnv(env);
    ws.labels = labels;
    ws.env = env;
    this.tables.update(ws);
    return this.view(ws);
  }

  /** The variables every process started in workspace `id` gets; none for one removed since. */
  envOf(id: string): Readonly<Record<string, string>> {
    return this.tables.byId(id)?.env ?? {};
  }

  /**
   * A workspace new processes may start in: active, its sandbox available
   * on this machine, its own network (with --no-network) up.
   */
  usable(ref: string): WorkspaceRecord {
    if (this.stopping) throw new TetherError(Code.Unavailable, "DAEMON_SHUTTING_DOWN", "the daemon is shutting down: nothing new starts; run the command again and it will start a new daemon");
    // A directory no workspace has yet is adopted, as a session adopts its task file's.
    const ws = isAbsolute(ref) ? (this.atRoot(ref) ?? this.adoptDirectory(ref)) : this.resolve(ref);
    if (ws.state !== "active") {
      throw new TetherError(Code.FailedPrecondition, "WORKSPACE_BUSY", `workspace ${ws.name} (${ws.id}) was removed: nothing starts in it any more; create a new one with tether ws create`, { workspace: ws.id, state: ws.state });
    }
    if (this.removing.has(ws.id)) {
      throw new TetherError(Code.FailedPrecondition, "WORKSPACE_BUSY", `workspace ${ws.name} (${ws.id}) is being removed: nothing starts in it any more; create a new one with tether ws create`, { workspace: ws.id, state: "removing" });
    }
    requireSandbox(ws);
    // Throws (and starts it again) while the workspace's own network is not up.
    if (ws.noNetwork) this.networks.enter(ws.id);
    return ws;
  }

  /** Why nothing may start in workspace `ref` now (removed, its sandbox gone), or undefined when something may. */
  unusable(ref: string): string | undefined {
    try {
      this.usable(ref);
      return undefined;
    } catch (error) {
      return (error as Error).message;
    }
  }

  /**
   * The workspace a session uses when none is named: the task file's
   * directory, adopted once as a host workspace named after it.
   */
  adoptDirectory(dir: string): WorkspaceRecord {
    const existing = this.adoptedAt(dir);
    if (existing !== undefined) return existing;
    const root = adoptableRoot(dir, this.stateDir, false);
    const view = this.insert(newId("w-", this.idTaken), { name: this.nameFor(root), root, sandbox: "host", noNetwork: false, labels: {}, env: {} });
    return this.resolve(view.id);
  }

  /** The workspace adoptDirectory(dir) gives without adopting one: its own adopted one; else, in a directory tether made for a workspace (tether run in it), that one. */
  private adoptedAt(dir: string): WorkspaceRecord | undefined {
    const real = realDirectory(dir, "workspace path");
    return this.tables.adoptedRoot(real) ?? this.tables.activeByRoot(real).find((ws) => !ws.adopted);
  }

  /**
   * The workspace a session's runs would use, as usable(ref) finds it (""
   * for a session's default, its task file's directory `defaultDir`), with
   * nothing adopted: undefined when that directory has no workspace yet and
   * would be adopted as one (checked as the adoption would check it).
   */
  wouldUse(ref: string, defaultDir: string): WorkspaceRecord | undefined {
    if (ref !== "" && !isAbsolute(ref)) return this.usable(ref);
    const dir = ref === "" ? defaultDir : ref;
    const found = ref === "" ? this.adoptedAt(dir) : this.atRoot(dir);
    if (found !== undefined) return this.usable(found.id);
    adoptableRoot(dir, this.stateDir, false);
    return undefined;
  }

  /** A free name after directory `root`'s (`-2`, `-3` when it is taken). */
  private nameFor(root: string): string {
    const base = basename(root).replace(/[^A-Za-z0-9._-]/g, "-").replace(/^[^A-Za-z0-9]+/, "").slice(0, 56) || "workspace";
    let name = base;
    for (let n = 2; this.tables.activeByName(name) !== undefined || this.tables.byId(name) !== undefined; n++) name = `${base}-${n}`;
    return name;
  }

  /**
   * The active workspace whose root directory `path` is (symlinks followed),
   * if any: the one, whatever its sandbox (a bwrap workspace's directory
   * given by path still runs sandboxed), or refused when several share it.
   */
  private atRoot(path: string): WorkspaceRecord | undefined {
    // Resolved, not checked as a directory to adopt: one tether made lives in its state directory.
    const found = this.tables.activeByRoot(realDirectory(path, "workspace path"));
    if (found.length <= 1) return found[0];
    const names = found.map((ws) => `${ws.name} (${ws.sandbox})`);
    throw new TetherError(Code.InvalidArgument, "WORKSPACE_AMBIGUOUS", `several workspaces have the directory ${path}: ${names.join(", ")}; name one of them`, { workspace: path, candidates: found.map((ws) => ws.id).join(",") });
  }

  /** The daemon stops: from now on nothing starts in any workspace (usable refuses). */
  refuseStarts(): void {
    this.stopping = true;
  }

  /** Terminates every live process in the workspace; resolves once they have ended. */
  async stop(ref: string, graceMs: number): Promise<{ workspace: WorkspaceView; stopped: number }> {
    const ws = this.resolve(ref);
    const stopped = await this.live.stop(ws.id, graceMs, `its workspace ${ws.name} was stopped`);
    this.events.publish({ type: "workspace", action: "stop", id: ws.id, attributes: { name: ws.name, stopped: String(stopped) }, labels: ws.labels });
    return { workspace: this.view(ws), stopped };
  }

  /** Runs `removal` for each workspace removed, after it is archived (the execs and PTYs modules remove theirs). */
  whenRemoved(removal: (ws: WorkspaceRecord) => Promise<void>): void {
    this.removals.push(removal);
  }

  /**
   * Archives a workspace: refused while processes are live unless force
   * (which stops them first). A root tether created is removed; an adopted
   * root's files are never touched. Its execs and PTYs go, with their
   * output; the sessions that ran in it keep their history. Archived last,
   * once all of that is gone: a removal cut short (the daemon killed, a
   * file it may not delete) leaves the workspace active, and `ws rm` again
   * finishes it. Nothing starts in it meanwhile.
   */
  async delete(ref: string, force: boolean, graceMs: number): Promise<WorkspaceView> {
    const ws = this.resolve(ref);
    if (ws.state !== "active") return this.view(ws);
    if (this.removing.has(ws.id)) {
      throw new TetherError(Code.FailedPrecondition, "WORKSPACE_BUSY", `workspace ${ws.name} is being removed already`, { workspace: ws.id, state: "removing" });
    }
    if (this.live.materialization(ws.id) !== "stopped" && !force) {
      const counts = this.live.counts(ws.id);
      throw new TetherError(
        Code.FailedPrecondition,
        "WORKSPACE_BUSY",
        `workspace ${ws.name} has live work (${counts.execs} exec(s), ${counts.ptys} PTY(s), ${counts.runs} session run(s)${runsOf(counts.runNames)}): stop it first with tether ws stop ${ws.name}, or remove it anyway with --force`,
        { workspace: ws.id, materialization: "live" },
      );
    }
    this.removing.add(ws.id);
    try {
      if (this.live.materialization(ws.id) !== "stopped") await this.live.stop(ws.id, graceMs, `its workspace ${ws.name} was removed`);
      this.networks.stop(ws.id);
      await Promise.all(this.removals.map((removal) => removal(ws)));
      // Not rmSync: a tree of a hundred thousand files (node_modules) would hold every other client for seconds.
      if (!ws.adopted) await rm(ws.root, { recursive: true, force: true });
      ws.state = "archived";
      ws.deletedAt = Date.now();
      this.tables.update(ws);
      this.events.publish({ type: "workspace", action: "remove", id: ws.id, attributes: { name: ws.name }, labels: ws.labels });
    } finally {
      this.removing.delete(ws.id);
    }
    return this.view(ws);
  }

  view(ws: WorkspaceRecord): WorkspaceView {
    return { ...ws, materialization: this.live.materialization(ws.id), live: this.live.counts(ws.id) };
  }

  /**
   * By exact id, then active name, then unique id prefix; an absolute path
   * names the active workspace whose root that directory is.
   */
  resolve(ref: string): WorkspaceRecord {
    const key = ref.startsWith("workspaces/") ? ref.slice("workspaces/".length) : ref;
    if (key === "") throw invalidArgument("workspace", "name the workspace: its id, an id prefix, its name, or its directory (tether ws ls lists them)");
    if (isAbsolute(key)) {
      const found = this.atRoot(key);
      if (found !== undefined) return found;
      throw new TetherError(Code.NotFound, "WORKSPACE_NOT_FOUND", `no workspace has the directory ${key}: a command started there adopts it (tether exec ${key} -- CMD), or tether ws create NAME --path ${key}`, { workspace: key });
    }
    const found = this.tables.byId(key) ?? this.tables.activeByName(key);
    if (found !== undefined) return found;
    const matches = this.tables.byPrefix(key);
    if (matches.length === 1) return matches[0]!;
    if (matches.length === 0) {
      const meant = closestWord(key, this.tables.activeNames());
      const hint = meant === undefined ? "" : `did you mean ${meant}? `;
      throw new TetherError(Code.NotFound, "WORKSPACE_NOT_FOUND", `no workspace ${JSON.stringify(key)}: ${hint}tether ws ls lists them, tether ws create makes one`, { workspace: key });
    }
    const candidates = matches.map((m) => m.id);
    throw new TetherError(Code.InvalidArgument, "WORKSPACE_AMBIGUOUS", `${JSON.stringify(key)} matches several workspaces (${candidates.join(", ")}): type more of the id, or use the name`, {
      workspace: key,
      candidates: candidates.join(","),
    });
  }
}

/** " of s-1, s-2": the sessions whose runs are named, the first three. */
function runsOf(runNames: readonly string[]): string {
  const sessions = [...new Set(runNames.map((name) => name.split("/")[1]!))];
  if (sessions.length === 0) return "";
  return ` of ${sessions.slice(0, 3).join(", ")}${sessions.length > 3 ? ` and ${sessions.length - 3} more` : ""}`;
}

/** Refuses a workspace env a process could not be given, or too large to keep: names as any env's, at most WORKSPACE_ENV_MAX_VARIABLES, values of at most ENV_VALUE_MAX_BYTES. */
function checkWorkspaceEnv(env: Readonly<Record<string, string>>): void {
  checkEnvNames(env, "env");
  if (Object.keys(env).length > WORKSPACE_ENV_MAX_VARIABLES) throw invalidArgument("env", `a workspace's env holds at most ${WORKSPACE_ENV_MAX_VARIABLES} variables: keep the rest in a file its commands read (exec --dotenv, a task's env_file)`);
  for (const [name, value] of Object.entries(env)) {
    if (Buffer.byteLength(value) > ENV_VALUE_MAX_BYTES) throw invalidArgument("env", `the value of ${name} is over ${ENV_VALUE_MAX_BYTES} bytes, more than a process can be given`);
  }
}
