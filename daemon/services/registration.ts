import type { DescService } from "@bufbuild/protobuf";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";

/** One handler, with its request and response types erased so services of any shape can share one list. */
export type AnyHandler = (request: unknown, context: HandlerContext) => unknown;

/** A service and the one implementation every protocol serves. */
export interface ServiceRegistration {
  readonly service: DescService;
  readonly impl: ServiceImpl<DescService>;
  handler(localName: string): AnyHandler | undefined;
}

export function registration<S extends DescService>(service: S, impl: ServiceImpl<S>): ServiceRegistration {
  const handlers = impl as unknown as Record<string, AnyHandler | undefined>;
  return {
    service,
    impl: impl as unknown as ServiceImpl<DescService>,
    handler: (localName) => handlers[localName],
  };
}
