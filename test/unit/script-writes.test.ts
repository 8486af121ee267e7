import { describe, expect, it } from "vitest";
import { TetherError } from "../../daemon/errors.js";
import { SCRIPT_WRITES_WAITING_MAX, ScriptWrites } from "../../daemon/workspaces/script-writes.js";
import { Code } from "@connectrpc/connect";

/** A process input that takes one write at a time and has room again only when told. */
function slowInput() {
  const taken: string[] = [];
  const rooms: (() => void)[] = [];
  const writes = new ScriptWrites(
    (data) => {
      taken.push(Buffer.from(data).toString());
      return new Promise<void>((resolve) => rooms.push(resolve));
    },
    () => new TetherError(Code.ResourceExhausted, "INPUT_FULL", "full"),
  );
  const room = async () => {
    rooms.shift()?.();
    await new Promise((resolve) => setImmediate(resolve));
  };
  return { writes, taken, room };
}

describe("scripts' writes to one process's input", () => {
  it("are taken one at a time in arrival order; past the most that may wait, refused; a cancelled one writes nothing and frees its place", async () => {
    const { writes, taken, room } = slowInput();
    const never = new AbortController().signal;
    const calls = Array.from({ length: SCRIPT_WRITES_WAITING_MAX - 1 }, (_, i) => writes.write(Buffer.from(`w${i}`), never));
    const cancel = new AbortController();
    const cancelled = writes.write(Buffer.from("cancelled"), cancel.signal).catch((e: unknown) => `rejected: ${(e as Error).message}`);
    await expect(writes.write(Buffer.from("one too many"), never)).rejects.toThrow("full");
    await new Promise((resolve) => setImmediate(resolve));
    expect(taken).toEqual(["w0"]);
    cancel.abort(new Error("deadline"));
    expect(await cancelled).toBe("rejected: deadline");
    // Its place is free at once, though its turn has not come.
    const late = writes.write(Buffer.from("late"), never);
    for (let i = 0; i < SCRIPT_WRITES_WAITING_MAX + 2; i++) await room();
    await Promise.all([...calls, late]);
    expect(taken).toEqual([...Array.from({ length: SCRIPT_WRITES_WAITING_MAX - 1 }, (_, i) => `w${i}`), "late"]);
  });
});
