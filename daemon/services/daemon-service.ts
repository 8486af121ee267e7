import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import { DaemonSchema, type Daemon } from "../../gen/tether/v1/daemon_pb.js";
import type { DaemonService } from "../../gen/tether/v1/daemon_service_pb.js";
import type { Traffic } from "../traffic.js";

export interface DaemonFacts {
  readonly version: string;
  /** The bundles' hash it runs (common/build-id.ts); "" when run from the sources. */
  readonly buildId: string;
  readonly startedAt: number;
  readonly socketPath: string;
  readonly stateDir: string;
  readonly maxMessageBytes: number;
  /** The work the daemon holds now (what a stop would end). */
  readonly work: () => Pick<Daemon, "openSessions" | "liveRuns" | "liveExecs" | "livePtys">;
  /** The ids of the open sessions a stop now leaves open for the next daemon. */
  readonly keptOverStop: () => string[];
}

/** Handlers for tether.v1.DaemonService: the facts, with what `traffic` serves now and the daemon's memory. */
export function createDaemonService(facts: DaemonFacts, traffic: Traffic, requestShutdown: () => void): ServiceImpl<typeof DaemonService> {
  const rss = new RssSample();
  const describe = (): Daemon =>
    create(DaemonSchema, {
      version: facts.version,
      buildId: facts.buildId,
      pid: process.pid,
      startTime: timestampFromMs(facts.startedAt),
      socketPath: facts.socketPath,
      stateDir: facts.stateDir,
      maxMessageBytes: facts.maxMessageBytes,
      connections: traffic.connections,
      callsInProgress: traffic.calls,
      memoryBytes: BigInt(rss.now()),
      requestBytesHeld: BigInt(traffic.requests.heldBytes),
      responseBytesHeld: BigInt(traffic.responses.heldBytes),
      callMemoryLimitBytes: BigInt(traffic.requests.limitBytes),
      ...facts.work(),
    });
  return {
    getDaemonInfo() {
      return { daemon: describe() };
    },
    shutdownDaemon() {
      // Answer first; the shutdown starts once this response is on its way.
      setImmediate(requestShutdown);
      return { daemon: describe(), keptSessions: facts.keptOverStop().map((id) => `sessions/${id}`) };
    },
  };
}

/** How long a reading of the daemon's resident memory stands for it: a status is a glance, and a fresh reading costs ~18 µs here. */
const RSS_SAMPLE_MS = 250;

/** The daemon's resident memory, read at most every RSS_SAMPLE_MS (procfs is read each time; a poller asking thousands of times a second pays for one). */
class RssSample {
  private value = 0;
  private at = -Infinity;

  now(): number {
    const time = performance.now();
    if (time - this.at >= RSS_SAMPLE_MS) {
      try {
        this.value = process.memoryUsage.rss();
      } catch {
        // Read from /proc/self/stat, which a daemon with every descriptor it may have in use cannot open (EMFILE): the last sample.
      }
      this.at = time;
    }
    return this.value;
  }
}
