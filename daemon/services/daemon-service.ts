import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import { DaemonSchema, type Daemon } from "../../gen/tether/v1/daemon_pb.js";
import type { DaemonService } from "../../gen/tether/v1/daemon_service_pb.js";

export interface DaemonFacts {
  readonly version: string;
  readonly startedAt: number;
  readonly socketPath: string;
  readonly stateDir: string;
  readonly maxMessageBytes: number;
}

/** Handlers for tether.v1.DaemonService. */
export function createDaemonService(facts: DaemonFacts, requestShutdown: () => void): ServiceImpl<typeof DaemonService> {
  const describe = (): Daemon =>
    create(DaemonSchema, {
      version: facts.version,
      pid: process.pid,
      startTime: timestampFromMs(facts.startedAt),
      socketPath: facts.socketPath,
      stateDir: facts.stateDir,
      maxMessageBytes: facts.maxMessageBytes,
    });
  return {
    getDaemonInfo() {
      return { daemon: describe() };
    },
    shutdownDaemon() {
      // Answer first; the shutdown starts once this response is on its way.
      setImmediate(requestShutdown);
      return { daemon: describe() };
    },
  };
}
