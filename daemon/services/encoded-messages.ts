import type { Message } from "@bufbuild/protobuf";

/**
 * Messages that carry their own wire encoding, made by the handler that
 * built them: the gRPC server writes those bytes instead of encoding the
 * message again. The message stays a complete message (any other path
 * encodes it as usual); the bytes must be exactly its binary encoding.
 *
 * AttachSession uses it: a batch for one of a hundred attached clients is
 * assembled in one buffer from events encoded once for all of them, where
 * protobuf-es would copy it twice more (a nested message is encoded apart
 * and then copied into its parent).
 */
const encodings = new WeakMap<Message, Uint8Array>();

export function withEncoding<M extends Message>(message: M, encoded: Uint8Array): M {
  encodings.set(message, encoded);
  return message;
}

export function encodingOf(message: unknown): Uint8Array | undefined {
  return typeof message === "object" && message !== null ? encodings.get(message as Message) : undefined;
}
