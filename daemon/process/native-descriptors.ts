import type { Socket } from "node:net";
import { loadAddon } from "./native-addon.js";

/** native/descriptors.c (see there). */
export interface NativeDescriptors {
  dup(fd: number): number;
  /** A connected pair of Unix stream sockets, both close-on-exec. */
  socketpair(): [number, number];
  /** A pipe, [read end, write end], both close-on-exec. */
  pipe(): [number, number];
  /** Sets a pipe's capacity: the capacity it has, or -1 when it could not be changed. */
  growPipe(fd: number, bytes: number): number;
  /** Asks for a socket's send buffer to hold `bytes`: the size it has (as SO_SNDBUF reads), or -1. */
  growSendBuffer(fd: number, bytes: number): number;
  /** Marks a descriptor close-on-exec: whether it could be. */
  closeOnExec(fd: number): boolean;
}

let loaded: NativeDescriptors | null | undefined;

/** The addon, or undefined when it was not built. */
export function loadDescriptors(): NativeDescriptors | undefined {
  if (loaded === undefined) loaded = loadAddon<NativeDescriptors>("tether_fd") ?? null;
  return loaded ?? undefined;
}

/**
 * A close-on-exec duplicate of descriptor `fd`, or undefined when there is
 * none to have: the addon was not built, or the descriptor cannot be
 * duplicated (no descriptor left: EMFILE). Callers then keep to what Node
 * does alone.
 */
export function duplicate(fd: number): number | undefined {
  try {
    return loadDescriptors()?.dup(fd);
  } catch {
    return undefined;
  }
}

/**
 * Marks descriptor `fd` close-on-exec, so no program started after it
 * inherits it: false without the addon (or when it is no descriptor).
 */
export function closeOnExec(fd: number): boolean {
  return loadDescriptors()?.closeOnExec(fd) ?? false;
}

/**
 * Raises the capacity of the pipe whose end is `fd` to `bytes` where the
 * system allows (a no-op without the addon, past the system's
 * pipe-max-size or the user's pipe quota): the capacity it has, or undefined.
 */
export function growPipe(fd: number, bytes: number): number | undefined {
  const capacity = loadDescriptors()?.growPipe(fd, bytes) ?? -1;
  return capacity < 0 ? undefined : capacity;
}

/**
 * Asks for the send buffer of connected socket `socket` to hold `bytes`
 * (SO_SNDBUF; the kernel keeps twice that, within net.core.wmem_max): the
 * size it has, or undefined without the addon or a descriptor.
 */
export function growSendBuffer(socket: Socket, bytes: number): number | undefined {
  try {
    const size = loadDescriptors()?.growSendBuffer(descriptorOf(socket), bytes) ?? -1;
    return size < 0 ? undefined : size;
  } catch {
    return undefined;
  }
}

/** A connected socket's file descriptor (net.Socket keeps it on its handle). */
export function descriptorOf(socket: Socket): number {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (fd === undefined || fd < 0) throw new Error("the socket has no descriptor");
  return fd;
}
