import { describe, expect, it } from "vitest";
import { TerminalAnswers } from "../../daemon/workspaces/terminal-answers.js";

/** A TerminalAnswers whose answers are collected as text, finding the cursor at (end, 0) after `findMs`. */
function answering(options: { findMs?: number; full?: () => Promise<void> | undefined } = {}) {
  const typed: string[] = [];
  const finds: number[] = [];
  const answers = new TerminalAnswers(
    (answer) => {
      typed.push(answer.toString("latin1").replace(/\x1b/g, "^["));
      return options.full?.();
    },
    async (end) => {
      finds.push(end);
      await new Promise((resolve) => setTimeout(resolve, options.findMs ?? 0));
      return { x: 0, y: end, cols: 80 };
    },
  );
  return { answers, typed, finds };
}

const settle = (ms = 60) => new Promise((resolve) => setTimeout(resolve, ms));

describe("TerminalAnswers", () => {
  it("answers device attributes and status at once, and nothing else (colours, modes, other reports)", () => {
    const { answers, typed } = answering();
    answers.scan(Buffer.from("a\x1b[c b\x1b[0c\x1b[>c\x1b[>0c\x1b[5n\x1b]11;?\x07\x1b[?1049h\x1b[>q\x1b[?u\x1b[1;31m\x1b[?6c\x1b[7n"), 0, false);
    expect(typed).toEqual(["^[[?1;2c", "^[[?1;2c", "^[[>0;276;0c", "^[[>0;276;0c", "^[[0n"]);
  });

  it("answers nothing a listening terminal hears, and a query cut across chunks once it ends", () => {
    const { answers, typed } = answering();
    answers.scan(Buffer.from("\x1b[c"), 0, true);
    expect(typed).toEqual([]);
    for (const piece of ["x\x1b", "[", ">", "0", "c"]) answers.scan(Buffer.from(piece), 0, false);
    expect(typed).toEqual(["^[[>0;276;0c"]);
    // A query cut where a terminal then began to listen is its terminal's to answer.
    answers.scan(Buffer.from("\x1b["), 0, false);
    answers.scan(Buffer.from("c"), 2, true);
    expect(typed).toEqual(["^[[>0;276;0c"]);
  });

  it("answers in the order asked: device attributes asked after the cursor wait for the cursor's answer", async () => {
    const { answers, typed, finds } = answering({ findMs: 20 });
    answers.scan(Buffer.from("ab\x1b[6n\x1b[c"), 100, false);
    expect(typed).toEqual([]);
    await settle();
    // The cursor's place after the output up to the query's end (offset 106), one-based.
    expect(finds).toEqual([106]);
    expect(typed).toEqual(["^[[107;1R", "^[[?1;2c"]);
    answers.scan(Buffer.from("\x1b[?6n"), 200, false);
    await settle();
    expect(typed.at(-1)).toBe("^[[?206;1R");
  });

  it("questions asked while the cursor is being found share the next finding; a terminal whose input is full is answered no more until it takes it", async () => {
    const { answers, typed, finds } = answering({ findMs: 20 });
    answers.scan(Buffer.from("\x1b[6n"), 0, false);
    for (let i = 1; i <= 100; i++) answers.scan(Buffer.from("\x1b[6n"), i * 10, false);
    await settle(200);
    // The first; then the 64 asked meanwhile share the second finding, after the last of them (offset 640 + 4):
    // the rest were asked past what may be owed, and go unanswered.
    expect(finds).toEqual([4, 644]);
    expect(typed.length).toBe(65);

    let release: () => void = () => undefined;
    const room = new Promise<void>((resolve) => (release = resolve));
    let full = true;
    const blocked = answering({ full: () => (full ? room : undefined) });
    blocked.answers.scan(Buffer.from("\x1b[c\x1b[c\x1b[c"), 0, false);
    expect(blocked.typed).toEqual(["^[[?1;2c"]);
    full = false;
    release();
    await settle(10);
    blocked.answers.scan(Buffer.from("\x1b[5n"), 9, false);
    expect(blocked.typed).toEqual(["^[[?1;2c", "^[[0n"]);
  });
});
