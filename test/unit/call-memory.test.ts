import { describe, expect, it } from "vitest";
import type { TetherError } from "../../daemon/errors.js";
import { CallMemory, REQUESTS } from "../../daemon/call-memory.js";

describe("CallMemory", () => {
  it("cuts the call holding the most when the total passes the limit, and lets go of its bytes", () => {
    const memory = new CallMemory(REQUESTS, 100);
    const refused: string[] = [];
    const hold = (name: string) => memory.hold((error: TetherError) => refused.push(`${name}: ${error.reason} ${error.metadata["held_bytes"]}`));
    const [a, b, c] = [hold("a"), hold("b"), hold("c")];
    a.set(60);
    b.set(30);
    expect(refused).toEqual([]);
    // c's 20 take the total to 110: a, holding the most, is cut, not c.
    c.set(20);
    expect(refused).toEqual(["a: REQUEST_MEMORY_FULL 60"]);
    expect(memory.heldBytes).toBe(50);
    // A cut hold counts no more, whatever it is told.
    a.set(90);
    expect(memory.heldBytes).toBe(50);
    // Bytes taken by a handler are let go; a released hold leaves.
    b.set(0);
    c.release();
    expect(memory.heldBytes).toBe(0);
    const d = hold("d");
    d.set(100);
    expect(refused).toHaveLength(1);
    d.set(101);
    expect(refused).toEqual(["a: REQUEST_MEMORY_FULL 60", "d: REQUEST_MEMORY_FULL 101"]);
    expect(memory.heldBytes).toBe(0);
  });
});
