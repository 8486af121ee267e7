import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { OutputStream, type Exec } from "../../gen/tether/v1/exec_pb.js";
import { ExecService } from "../../gen/tether/v1/exec_service_pb.js";
import { whenDaemonStopped } from "../cli-error.js";
import { execEndWords } from "../exec-output.js";
import type { GrpcClient } from "../grpc-client.js";
import { OutputLines, writeLines, type OutputLine } from "../output-lines.js";
import { createStyle } from "../style.js";

/** Where each exec's output starts, as exec attach takes it: its last lines, or what was stored since a time; neither: all of it. */
export interface ManyStart {
  readonly tailLines: number | undefined;
  readonly sinceMs: number | undefined;
  readonly follow: boolean;
}

/**
 * `tether exec attach E1 E2 ... | --label k=v`: several execs' output at
 * once, each line after its exec's name (or id), as `docker compose logs`
 * and `kubectl logs -l ... --prefix` show several containers': stdout's to
 * stdout, stderr's to stderr, a line whole however the chunks cut it; as
 * each ends, a line saying how. Ctrl-C detaches (130); else 0 once all have
 * ended (or, with --no-follow, once what is stored is shown).
 */
export async function attachMany(client: GrpcClient, refs: readonly string[], start: ManyStart): Promise<number> {
  const stop = new AbortController();
  process.once("SIGINT", () => stop.abort());
  const execs = await Promise.all(refs.map(async (ref) => (await client.unary(ExecService.method.getExec, { exec: ref }, { signal: stop.signal })).exec!));
  const label = (e: Exec): string => e.displayName || e.id;
  const width = Math.max(...execs.map((e) => label(e).length));
  const style = createStyle(process.stdout);
  const prefix = (name: string): string => `${style.task(name.padEnd(width))} ${style.dim("|")} `;
  const lines = new OutputLines();
  const emit = (chunkLines: readonly OutputLine[]): Promise<void> => writeLines(chunkLines, prefix);
  const follow = async (exec: Exec, index: number): Promise<void> => {
    const request = { exec: exec.id, tailLines: start.tailLines, noFollow: !start.follow, since: start.sinceMs === undefined ? undefined : timestampFromMs(start.sinceMs) };
    for await (const response of client.serverStream(ExecService.method.attachExec, request, { signal: stop.signal })) {
      const kind = response.kind;
      if (kind.case === "output") await emit(lines.add(index, label(exec), kind.value.stream === OutputStream.STDERR, kind.value.data));
      else if (kind.case === "exit") {
        await emit(lines.rest(index));
        process.stderr.write(`${prefix(label(exec))}${style.dim(execEndWords(kind.value))}\n`);
      }
    }
    await emit(lines.rest(index));
  };
  try {
    await Promise.all(execs.map(follow));
    return 0;
  } catch (error) {
    if (!stop.signal.aborted) throw whenDaemonStopped(error, "this command followed the execs");
    process.stderr.write(`\ndetached; the execs keep running. Follow them again: tether exec attach ${refs.join(" ")} --tail 0\n`);
    return 130;
  }
}
