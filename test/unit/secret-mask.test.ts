import { afterEach, describe, expect, it, vi } from "vitest";
import { MaskedOutput, SECRET_HOLD_MS } from "../../daemon/sessions/masked-output.js";
import { SecretMask } from "../../daemon/sessions/secret-mask.js";
import { OutputWriter } from "../../daemon/process/output-writer.js";

/** What the mask lets out now of `text` on `fd`. */
const taken = (mask: SecretMask, fd: 1 | 2, text: string): string => mask.take(fd, Buffer.from(text)).toString();

describe("the secret mask", () => {
  it("stars out every occurrence of every value, byte for byte, so the output keeps its length", () => {
    const mask = new SecretMask(["hunter2", "s3cr3t-token"]);
    expect(taken(mask, 1, "pw=hunter2 again hunter2, token s3cr3t-token\n")).toBe("pw=******* again *******, token ************\n");
    expect(taken(mask, 1, "nothing here\n")).toBe("nothing here\n");
    expect(mask.holds(1)).toBe(false);
  });

  it("holds back a tail that may begin a value until the next chunk shows whether it does, each output on its own", () => {
    const mask = new SecretMask(["hunter2"]);
    expect(taken(mask, 1, "pw=hun")).toBe("pw=");
    expect(mask.holds(1)).toBe(true);
    expect(taken(mask, 2, "ter2 on stderr is not the rest")).toBe("ter2 on stderr is not the rest");
    expect(taken(mask, 1, "te")).toBe("");
    expect(taken(mask, 1, "r2\n")).toBe("*******\n");
    // Not a value after all: out with the next chunk, or when released.
    expect(taken(mask, 1, "a hunt")).toBe("a ");
    expect(taken(mask, 1, "ing trip\n")).toBe("hunting trip\n");
    expect(taken(mask, 1, "oh")).toBe("o");
    expect(mask.release(1)?.toString()).toBe("h");
    expect([mask.holds(1), mask.release(1)]).toEqual([false, undefined]);
  });

  it("leaves values too short to mask, and is empty without any", () => {
    expect(new SecretMask(["abc", ""]).empty).toBe(true);
    const mask = new SecretMask(["abc", "abcd"]);
    expect(taken(mask, 1, "abc abcd.")).toBe("abc ****.");
  });
});

describe("a run's masked output", () => {
  afterEach(() => vi.useRealTimers());

  /** A real writer whose appends are kept as text, in order. */
  const writerOf = (appended: string[]): OutputWriter =>
    new OutputWriter(async (inputs) => {
      for (const input of inputs) appended.push(Buffer.from(input.data).toString());
    });

  it("lets out what it held back with the next chunk, at the output's end, or once the output went quiet", async () => {
    vi.useFakeTimers();
    const appended: string[] = [];
    const writer = writerOf(appended);
    const output = new MaskedOutput(new SecretMask(["hunter2"]), writer);
    output.write(1, Buffer.from("cut hun"));
    output.write(1, Buffer.from("ter2 done\n"));
    output.write(2, Buffer.from("prompt h"));
    await vi.advanceTimersByTimeAsync(SECRET_HOLD_MS - 1);
    await writer.settled();
    expect(appended.join("")).toBe("cut ******* done\nprompt ");
    await vi.advanceTimersByTimeAsync(1);
    await writer.settled();
    expect(appended.join("")).toBe("cut ******* done\nprompt h");
    output.write(1, Buffer.from("last hu"));
    output.end(1);
    await writer.settled();
    expect(appended.join("")).toBe("cut ******* done\nprompt hlast hu");
    expect(vi.getTimerCount()).toBe(0);
  });
});
