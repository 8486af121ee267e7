/**
 * The journal's record limit, which both ends know: the daemon refuses a
 * bigger record, and the CLI stops reading stdin for one once it is past.
 */

/** Largest payload of one record. Bigger writes must be chunked by the producer; 4 MiB keeps one record well under the RPC message limit. */
export const RECORD_MAX_BYTES = 4 * 1024 * 1024;
