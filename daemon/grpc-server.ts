import { create, fromBinary, toBinary, type DescMessage, type DescMethod, type DescService } from "@bufbuild/protobuf";
import { createHandlerContext, type HandlerContext } from "@connectrpc/connect";
import { setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import * as grpc from "@grpc/grpc-js";
import type { EventEmitter } from "node:events";
import { encodingOf } from "./services/encoded-messages.js";
import { toConnectError } from "./services/error-mapping.js";
import type { AnyHandler, ServiceRegistration } from "./services/registration.js";

/**
 * Encoded responses of one streaming call that may wait to be handed to
 * HTTP/2 (at least one always may). Per call, so it multiplies: with 100
 * clients attached to one busy session, 256 KiB here held the daemon at
 * ~260 MB RSS and 64 KiB at ~220 MB, delivering as fast; a stream of large
 * messages (ReadJournal's are up to 1 MiB) has one in flight either way.
 */
const STREAM_UNWRITTEN_MAX_BYTES = 64 * 1024;

export interface GrpcServerOptions {
  readonly registrations: readonly ServiceRegistration[];
  readonly maxMessageBytes: number;
  readonly windowBytes: number;
  /** Aborted when the daemon starts to stop: streaming handlers end. */
  readonly shutdownSignal: AbortSignal;
}

/**
 * Serves gRPC over HTTP/2 with @grpc/grpc-js, calling the same handler
 * implementations that connect-node serves over HTTP/1.1. Measured on the
 * development machine, grpc-js answers a unary call in ~350 us where
 * connect-node took ~500 us (bare node:http2: ~280 us); streamed output is
 * bound by the daemon's encoding and GC, not by which stack writes it.
 *
 * Each handler gets a connect HandlerContext whose signal aborts when the
 * client cancels or the daemon stops, and its errors become gRPC statuses
 * carrying tether.v1.ErrorDetail, encoded by connect's own gRPC trailer code
 * so both paths report an error identically.
 */
export function createGrpcServer(options: GrpcServerOptions): grpc.Server {
  const server = new grpc.Server({
    "grpc.max_receive_message_length": options.maxMessageBytes,
    "grpc.max_send_message_length": options.maxMessageBytes,
    "grpc-node.flow_control_window": options.windowBytes,
    // Channelz (grpc-js's introspection service, which tether does not serve) counts every call and socket.
    "grpc.enable_channelz": 0,
  });
  for (const reg of options.registrations) {
    const definition: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
    const handlers: grpc.UntypedServiceImplementation = {};
    for (const method of reg.service.methods) {
      const impl = reg.handler(method.localName);
      if (impl === undefined) continue;
      definition[method.name] = methodDefinition(reg.service, method);
      handlers[method.name] = grpcHandler(reg.service, method, impl, options.shutdownSignal);
    }
    server.addService(definition as grpc.ServiceDefinition, handlers);
  }
  return server;
}

function methodDefinition(service: DescService, method: DescMethod): grpc.MethodDefinition<unknown, unknown> {
  const responseStream = method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming";
  return {
    path: `/${service.typeName}/${method.name}`,
    requestStream: method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming",
    responseStream,
    requestSerialize: encoder(method.input),
    requestDeserialize: (bytes: Buffer) => fromBinary(method.input, bytes),
    // A stream's responses are encoded by pump (it counts their bytes): grpc-js gets them as bytes.
    responseSerialize: responseStream ? (encoded: unknown) => encoded as Buffer : encoder(method.output),
    responseDeserialize: (bytes: Buffer) => fromBinary(method.output, bytes),
  };
}

function encoder(schema: DescMessage): (message: unknown) => Buffer {
  return (message) => {
    const bytes = toBinary(schema, create(schema, message as never));
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
}

/**
 * Why a handler's signal aborts once its call is closed. grpc-js reports every
 * call's close as a cancel, a finished one's too; abort() without a reason
 * would build a DOMException, stack trace and all, for each (~50 µs of a unary
 * call here, in paired runs). Made once.
 */
const CALL_CLOSED = new Error("the call is closed: the client cancelled it, went away, or it finished");

function grpcHandler(service: DescService, method: DescMethod, impl: AnyHandler, shutdownSignal: AbortSignal): grpc.UntypedHandleCall {
  const context = (call: EventEmitter): HandlerContext => {
    const ctx = createHandlerContext({
      service,
      method,
      protocolName: "grpc",
      requestMethod: "POST",
      url: `/${service.typeName}/${method.name}`,
      shutdownSignal,
    });
    call.once("cancelled", () => ctx.abort(CALL_CLOSED));
    return ctx;
  };
  switch (method.methodKind) {
    case "unary":
      return (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        Promise.resolve()
          .then(() => impl(call.request, context(call)))
          .then(
            (response) => callback(null, response),
            (error: unknown) => callback(toServiceError(error)),
          );
      };
    case "client_streaming":
      return (call: grpc.ServerReadableStream<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        Promise.resolve()
          .then(() => impl(requests(call), context(call)))
          .then(
            (response) => callback(null, response),
            (error: unknown) => callback(toServiceError(error)),
          );
      };
    case "server_streaming":
      return (call: grpc.ServerWritableStream<unknown, unknown>) => {
        void pump(call, encoder(method.output), () => impl(call.request, context(call)) as AsyncIterable<unknown>);
      };
    case "bidi_streaming":
      return (call: grpc.ServerDuplexStream<unknown, unknown>) => {
        void pump(call, encoder(method.output), () => impl(requests(call), context(call)) as AsyncIterable<unknown>);
      };
  }
}

/**
 * The client's messages. A plain for-await over a Readable destroys the
 * stream when the loop ends, which would also end a duplex call's response
 * side before its status is sent; this iterator leaves the call open.
 */
function requests(call: grpc.ServerReadableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>): AsyncIterable<unknown> {
  return { [Symbol.asyncIterator]: () => call.iterator({ destroyOnReturn: false }) };
}

/**
 * Writes every response, then the status. Responses are encoded here, as
 * they come, and at most STREAM_UNWRITTEN_MAX_BYTES of them wait to be
 * handed to HTTP/2 (whose flow control holds them while the client does not
 * read): so a client that reads slowly, or not at all, holds a bounded number
 * of bytes of this daemon's memory, however small its messages (grpc-js's
 * own buffer counts 16 messages of any size). An error's status is sent only
 * once the last response has been handed to HTTP/2: emitted while a write is
 * still in flight, grpc-js ends a duplex call's writable side but never sends
 * the status (the client would wait forever).
 */
async function pump(
  call: grpc.ServerWritableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>,
  encode: (message: unknown) => Buffer,
  responses: () => AsyncIterable<unknown>,
): Promise<void> {
  // Bytes written but not yet handed to HTTP/2 (each write's callback takes its bytes off).
  let unwritten = 0;
  // Woken by a write's callback or by the cancel. (Not a race against a promise of the
  // cancel: each race leaves a reaction on that promise until the call ends, and a
  // long call that waits often piled them up, ~14,000 in 30 s with 100 attached clients.)
  let wake: (() => void) | undefined;
  const wakeWriter = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  call.once("cancelled", wakeWriter);
  const waitUntil = async (limit: number): Promise<void> => {
    while (unwritten > limit && !call.cancelled) await new Promise<void>((resolve) => (wake = resolve));
  };
  try {
    for await (const response of responses()) {
      if (call.cancelled) return;
      const own = encodingOf(response);
      const encoded = own === undefined ? encode(response) : Buffer.from(own.buffer, own.byteOffset, own.byteLength);
      const size = encoded.byteLength + 1;
      unwritten += size;
      call.write(encoded, () => {
        unwritten -= size;
        if (unwritten <= STREAM_UNWRITTEN_MAX_BYTES) wakeWriter();
      });
      if (unwritten > STREAM_UNWRITTEN_MAX_BYTES) await waitUntil(STREAM_UNWRITTEN_MAX_BYTES);
    }
    call.end();
  } catch (error) {
    await waitUntil(0);
    if (!call.cancelled) call.emit("error", toServiceError(error));
  }
}

function toServiceError(error: unknown): grpc.StatusObject {
  const connectError = toConnectError(error);
  const metadata = new grpc.Metadata();
  const details = setTrailerStatus(new Headers(), connectError).get("grpc-status-details-bin");
  if (details !== null) metadata.set("grpc-status-details-bin", Buffer.from(details, "base64"));
  return { code: connectError.code as number as grpc.status, details: connectError.rawMessage, metadata };
}
