import { timestampFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import type { EventSchema } from "../../gen/tether/v1/event_pb.js";
import type { EventService } from "../../gen/tether/v1/event_service_pb.js";
import type { DaemonEvent, Events } from "../events.js";
import { parseLabelSelectors } from "../workspaces/labels.js";

/** Handlers for tether.v1.EventService: proto in, domain call, proto out. A watch ends with the daemon's reason when it stops (`daemonStopping`). */
export function createEventService(events: Events, daemonStopping: AbortSignal): ServiceImpl<typeof EventService> {
  return {
    async *watchEvents(req, ctx) {
      const start = { sinceMs: req.since === undefined ? undefined : timestampMs(req.since), afterSequence: req.afterSequence === 0n ? undefined : Number(req.afterSequence) };
      const batches = events.watch(start, { types: new Set(req.types), ids: new Set(req.ids), labels: parseLabelSelectors(req.labelSelector) }, ctx.signal);
      try {
        for await (const { events: batch, missed } of batches) yield { events: batch.map(eventToProto), missed: BigInt(missed) };
      } catch (error) {
        if (daemonStopping.aborted) throw daemonStopping.reason;
        throw error;
      }
    },
  };
}

function eventToProto(event: DaemonEvent): MessageInitShape<typeof EventSchema> {
  return { sequence: BigInt(event.sequence), time: timestampFromMs(event.time), type: event.type, action: event.action, id: event.id, attributes: { ...event.attributes }, labels: { ...event.labels } };
}
