import type { DescMethod, DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, createContextValues, type ContextValues, type HandlerContext } from "@connectrpc/connect";

/**
 * Why a call's signal aborts once the call is closed. Aborting without a
 * reason builds a DOMException, stack trace and all (~50 µs of a unary call
 * here, in paired runs). Made once.
 */
export const CALL_CLOSED = new Error("the call is closed: the client cancelled it, went away, or it finished");

/** A HandlerContext for one gRPC call, and the means to end it. */
export interface CallContext extends HandlerContext {
  /** Aborts the call's signal (once) with `reason`; a deadline's timer is cleared. */
  abort(reason: unknown): void;
  /** See SendNow (set by the call for streaming responses). */
  sendNow: SendNow | undefined;
}

/**
 * Writes a streaming call's next response at once, from the caller's own
 * turn, when the call is waiting for its handler's next response (so every
 * earlier one is written) and has room; false when it is not (the response
 * then goes the usual way, yielded). A terminal's echo goes out from the
 * read that brought it, not several promise turns later (see pty-service.ts).
 */
export type SendNow = (response: unknown) => boolean;

/** The SendNow of a handler's context, when its server offers one (the daemon's gRPC server does; the Connect protocol's, connect-es's router, does not). */
export function sendNowOf(context: HandlerContext): SendNow | undefined {
  return (context as Partial<CallContext>).sendNow;
}

/**
 * Hands a streaming call's requests to `take` in the socket read that
 * brought them, while the handler waits for its next request and none is
 * queued (so none overtakes an earlier one); `take` returns false for a
 * request it leaves to the handler's iteration. A keystroke reaches its
 * terminal from that read, not several promise turns later (see
 * pty-service.ts).
 */
export type TakeNow<T> = (take: (request: T) => boolean) => void;

/** Where the daemon's gRPC server puts a call's TakeNow on its request iterable. */
export const TAKE_NOW = Symbol("tether.takeNow");

/** The TakeNow of a handler's requests, when its server offers one (the daemon's gRPC server does; the Connect protocol's, connect-es's router, does not). */
export function takeNowOf<T>(requests: AsyncIterable<T>): TakeNow<T> | undefined {
  return (requests as { [TAKE_NOW]?: TakeNow<T> })[TAKE_NOW];
}

/**
 * The gRPC server's HandlerContext: what connect's createHandlerContext
 * makes, without its per-call cost (~20 µs of a ~110 µs unary call in the
 * daemon here: three Headers, a deadline controller and a controller linked
 * to the daemon's shutdown signal by a listener added and removed per call).
 * The AbortController, headers and values are made only if a handler asks
 * for them (streaming handlers take the signal; most unary ones nothing);
 * the daemon's stop aborts every open call through `CallContexts`, one
 * listener for all.
 */
class GrpcCallContext implements CallContext {
  readonly requestMethod = "POST";
  readonly protocolName = "grpc";
  /** Made when a handler first asks for the signal: most unary handlers never do. */
  private controller: AbortController | undefined;
  /** Why the call was aborted, once it was (the signal is made aborted with it if asked for later). */
  private abortedFor: { reason: unknown } | undefined;
  private readonly deadline: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lazyRequestHeader: Headers | undefined;
  private lazyResponseHeader: Headers | undefined;
  private lazyResponseTrailer: Headers | undefined;
  private lazyValues: ContextValues | undefined;
  sendNow: SendNow | undefined;

  constructor(
    readonly service: DescService,
    readonly method: DescMethod,
    readonly url: string,
    timeoutMs: number | undefined,
    private readonly closed: (context: GrpcCallContext) => void,
  ) {
    if (timeoutMs !== undefined) {
      this.deadline = Date.now() + timeoutMs;
      this.timer = setTimeout(() => this.abort(new ConnectError("the deadline the client set passed", Code.DeadlineExceeded)), timeoutMs);
    }
  }

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.abortedFor !== undefined) this.controller.abort(this.abortedFor.reason);
    }
    return this.controller.signal;
  }

  readonly timeoutMs = (): number | undefined => (this.deadline === undefined ? undefined : this.deadline - Date.now());

  get requestHeader(): Headers {
    return (this.lazyRequestHeader ??= new Headers());
  }

  get responseHeader(): Headers {
    return (this.lazyResponseHeader ??= new Headers());
  }

  get responseTrailer(): Headers {
    return (this.lazyResponseTrailer ??= new Headers());
  }

  get values(): ContextValues {
    return (this.lazyValues ??= createContextValues());
  }

  abort(reason: unknown): void {
    if (this.abortedFor !== undefined) return;
    this.abortedFor = { reason };
    clearTimeout(this.timer);
    this.closed(this);
    this.controller?.abort(reason);
  }
}

/**
 * The open calls' contexts: the daemon's stop aborts them all with its
 * reason (connect-es's router does the same for the Connect protocol's
 * calls, its shutdownSignal), so a handler takes its call's signal alone.
 * Joined to the daemon's stop signal with AbortSignal.any, every call left
 * a WeakRef in that long-lived signal's set of dependants, which Node 20
 * never prunes: ~45 bytes of heap per call, for the daemon's life.
 */
export class CallContexts {
  private readonly open = new Set<GrpcCallContext>();

  constructor(private readonly shutdownSignal: AbortSignal) {
    shutdownSignal.addEventListener("abort", () => {
      for (const context of [...this.open]) context.abort(shutdownSignal.reason);
    });
  }

  /** A context for a new call; `timeoutMs` is the client's deadline, if it set one. */
  create(service: DescService, method: DescMethod, url: string, timeoutMs: number | undefined): CallContext {
    const context = new GrpcCallContext(service, method, url, timeoutMs, (c) => this.open.delete(c));
    if (this.shutdownSignal.aborted) context.abort(this.shutdownSignal.reason);
    else this.open.add(context);
    return context;
  }
}
