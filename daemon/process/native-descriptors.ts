import { createRequire } from "node:module";
import type { Socket } from "node:net";

/** native/descriptors.c, built by node-gyp when tether is installed (see there). */
interface NativeDescriptors {
  dup(fd: number): number;
}

/** Where node-gyp puts it: from the bundle in dist/, and from this file (under tests). */
const ADDON = ["../build/Release/tether_fd.node", "../../build/Release/tether_fd.node"];

let loaded: NativeDescriptors | null | undefined;

/**
 * A close-on-exec duplicate of descriptor `fd`, or undefined when the addon
 * was not built (callers then keep to what Node does alone). Throws an Error
 * with `errno` when the descriptor cannot be duplicated.
 */
export function duplicate(fd: number): number | undefined {
  if (loaded === undefined) {
    const require = createRequire(import.meta.url);
    loaded = null;
    for (const path of ADDON) {
      try {
        loaded = require(path) as NativeDescriptors;
        break;
      } catch {
        // Not built, or not there: the next place, or none.
      }
    }
  }
  return loaded?.dup(fd);
}

/** A connected socket's file descriptor (net.Socket keeps it on its handle). */
export function descriptorOf(socket: Socket): number {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (fd === undefined || fd < 0) throw new Error("the socket has no descriptor");
  return fd;
}
