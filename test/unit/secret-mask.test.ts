import { describe, expect, it } from "vitest";
import { SecretMask } from "../../daemon/sessions/secret-mask.js";

const masked = (mask: SecretMask, fd: 1 | 2, text: string): string => {
  const chunk = Buffer.from(text);
  mask.apply(fd, chunk);
  return chunk.toString();
};

describe("the secret mask", () => {
  it("stars out every occurrence of every value, byte for byte, so the output keeps its length", () => {
    const mask = new SecretMask(["hunter2", "s3cr3t-token"]);
    expect(masked(mask, 1, "pw=hunter2 again hunter2, token s3cr3t-token\n")).toBe("pw=******* again *******, token ************\n");
    expect(masked(mask, 1, "nothing here\n")).toBe("nothing here\n");
  });

  it("masks the rest of a value cut across two reads, each output on its own", () => {
    const mask = new SecretMask(["hunter2"]);
    expect(masked(mask, 1, "pw=hun")).toBe("pw=hun");
    expect(masked(mask, 2, "ter2 on stderr is not the rest")).toBe("ter2 on stderr is not the rest");
    expect(masked(mask, 1, "ter2\n")).toBe("****\n");
  });

  it("leaves values too short to mask, and is empty without any", () => {
    expect(new SecretMask(["abc", ""]).empty).toBe(true);
    const mask = new SecretMask(["abc", "abcd"]);
    expect(masked(mask, 1, "abc abcd")).toBe("abc ****");
  });
});
