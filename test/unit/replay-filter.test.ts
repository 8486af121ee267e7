import { describe, expect, it } from "vitest";
import { ReplayFilter } from "../../client/replay-filter.js";

const ESC = "\x1b";

/** Feeds `chunks` (consecutive, from offset 0) through a filter whose live output starts at `liveOffset`; what it writes, joined. */
function written(liveOffset: number, ...chunks: string[]): string {
  const replay = new ReplayFilter(liveOffset);
  let offset = 0;
  let out = "";
  for (const chunk of chunks) {
    const data = Buffer.from(chunk, "utf8");
    out += Buffer.from(replay.chunk({ offset: BigInt(offset), data }).data).toString("utf8");
    offset += data.byteLength;
  }
  return out;
}

describe("ReplayFilter (a replay's terminal queries and effects beyond the screen dropped)", () => {
  it("drops the queries vim, shells and TUI libraries send as they start, and keeps what draws", () => {
    const queries = [
      `${ESC}[c`, `${ESC}[0c`, `${ESC}[>c`, `${ESC}[>0c`, `${ESC}[=c`, `${ESC}Z`,
      `${ESC}[5n`, `${ESC}[6n`, `${ESC}[?6n`, `${ESC}[?996n`,
      `${ESC}[?1049$p`, `${ESC}[4$p`, `${ESC}[>q`, `${ESC}[>0q`, `${ESC}[?u`, `${ESC}[14t`, `${ESC}[18t`, `${ESC}[21t`,
      `${ESC}[1x`, `${ESC}[?1;1;0S`, `${ESC}[?4m`, `${ESC}[1$w`, `${ESC}[1$u`,
      `${ESC}]11;?\x07`, `${ESC}]10;?${ESC}\\`, `${ESC}]4;1;?\x07`, `${ESC}]52;c;?\x07`,
      `${ESC}P+q544e${ESC}\\`, `${ESC}P$qm${ESC}\\`,
      // Not queries, but not to happen twice: the clipboard, notifications.
      `${ESC}]52;c;aGVsbG8=\x07`, `${ESC}]9;build done\x07`, `${ESC}]777;notify;t;b\x07`, `${ESC}]99;;hi${ESC}\\`,
    ];
    const drawing = [
      "plain text\r\n", `${ESC}[1;31mred${ESC}[m`, `${ESC}[2J${ESC}[H`, `${ESC}[?1049h`, `${ESC}[?25l`, `${ESC}[2 q`, `${ESC}[>4;2m`,
      `${ESC}[22;0t`, `${ESC}[>1u`, `${ESC}[<u`, `${ESC}]0;title\x07`, `${ESC}]8;;http://x/?a=b${ESC}\\link${ESC}]8;;${ESC}\\`, `${ESC}]11;rgb:0000/0000/0000\x07`,
      `${ESC}[5S`, `${ESC}[3X`, `${ESC}7${ESC}8`, `${ESC}=`, "ü日本\x07",
    ];
    const mixed = drawing.map((d, i) => d + (queries[i] ?? "")).join("") + queries.slice(drawing.length).join("");
    expect(written(Infinity, mixed)).toBe(drawing.join(""));
  });

  it("drops a query split across chunks, and keeps a sequence split so whole", () => {
    expect(written(Infinity, `a${ESC}`, "[>", "c", "b")).toBe("ab");
    expect(written(Infinity, `a${ESC}]11;`, `?${ESC}`, "\\b")).toBe("ab");
    expect(written(Infinity, `a${ESC}[1;3`, "1mb")).toBe(`a${ESC}[1;31mb`);
    expect(written(Infinity, `a${ESC}P+q`, `54${ESC}\\b`)).toBe("ab");
  });

  it("passes live output as it is, a query asked now included", () => {
    const replay = `x${ESC}[6n`;
    expect(written(replay.length, replay, `${ESC}[6ny`)).toBe(`x${ESC}[6ny`);
    // One chunk across the boundary: only its replayed part is filtered.
    expect(written(replay.length, `${replay}${ESC}[6ny`)).toBe(`x${ESC}[6ny`);
    // Begun in the replay and ended live, a sequence goes out whole.
    expect(written(3, `ab${ESC}[`, ">cz")).toBe(`ab${ESC}[>cz`);
  });

  it("lets through a string that never ends and an ESC that cancels one", () => {
    const long = `${ESC}]0;${"t".repeat(70 * 1024)}`;
    expect(written(Infinity, long, "more")).toBe(`${long}more`);
    expect(written(Infinity, `${ESC}]11;?${ESC}[1mb`)).toBe(`${ESC}]11;?${ESC}[1mb`);
  });
});
