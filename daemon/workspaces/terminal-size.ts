import { TERMINAL_MAX_CELLS } from "../../common/terminal-limits.js";
import { invalidArgument } from "../errors.js";

const DEFAULT_SIZE = { cols: 80, rows: 24 };

/** Refuses terminal sizes outside 1..TERMINAL_MAX_CELLS. */
export function checkSize(cols: number, rows: number): void {
  if (cols < 1 || rows < 1 || cols > TERMINAL_MAX_CELLS || rows > TERMINAL_MAX_CELLS) {
    throw invalidArgument("size", `terminal size ${cols}x${rows} is out of range: columns and rows must each be 1-${TERMINAL_MAX_CELLS}`);
  }
}

/** The size asked for, or 80x24 when none was (unset, or 0x0). */
export function defaultSize(size: { cols: number; rows: number } | undefined): { cols: number; rows: number } {
  return size === undefined || (size.cols === 0 && size.rows === 0) ? DEFAULT_SIZE : size;
}
