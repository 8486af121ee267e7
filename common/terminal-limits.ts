/**
 * Terminal sizes an exec or PTY may have, in cells, which both ends know:
 * the daemon refuses a size past it (its screen model of a terminal grows
 * with the cells), and the CLI gives a wider or taller window's size as
 * this much, as tmux caps a window's, rather than be cut off on a resize.
 */
export const TERMINAL_MAX_CELLS = 1000;
