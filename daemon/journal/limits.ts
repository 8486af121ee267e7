/** The journal's size limits, each with the reason for its value. */

export { RECORD_MAX_BYTES } from "../../common/record-limits.js";

/** Largest total of one record's metadata keys and values: metadata is for small tags (content type, correlation id), not payload. */
export const RECORD_META_MAX_BYTES = 4 * 1024;

/**
 * How many bytes of committed records a following reader may hold in memory
 * before it is dropped back to reading from the store. Bounds the daemon's
 * memory per reader no matter how slowly that reader's client reads.
 */
export const READER_QUEUE_MAX_BYTES = 1024 * 1024;

/** One batch handed to a reader holds at most this many records... */
export const READ_BATCH_MAX_RECORDS = 1024;
/** ...and at most this many data bytes (a single larger record still goes out alone), keeping one RPC message small. */
export const READ_BATCH_MAX_BYTES = 1024 * 1024;

/**
 * The record cache (record-cache.ts), shared by every reader: at most this
 * much in total, counting each record's data plus RECORD_CACHE_RECORD_OVERHEAD_BYTES
 * (what its objects take on the heap with the item and event decoded from it
 * for attached clients: ~850 bytes per small session record in a heap
 * snapshot of a daemon that had served 100 attached clients). 16 MiB: ~15,000
 * small records, enough for 100 clients attached to one busy session to
 * share their reads (measured: a larger cache did not deliver faster, and
 * held more). Counting 512 bytes instead let the cache hold twice that on
 * the heap (~30 MB), which every full collection marks: a daemon streaming
 * an exec's output right after the streams benchmark collected so often that
 * it ran at 165-190 MB/s, against 199-285 with this count (paired probes),
 * and the attached clients, inputs and bulk output ran no slower ...
 */
export const RECORD_CACHE_MAX_BYTES = 16 * 1024 * 1024;
export const RECORD_CACHE_RECORD_OVERHEAD_BYTES = 1024;
/**
 * ... for as long as readers or commits use them: a block unused this long
 * is dropped. After the streams benchmark a full cache (~15 MB of records,
 * their items and encoded events on the heap) stayed for good, and V8 counts
 * a live heap and the output buffers in flight against one limit: an exec
 * streaming right after it set off a full collection every ~70 MB.
 */
export const RECORD_CACHE_IDLE_MS = 5000;
/** ... in blocks of this many consecutive records, aligned on sequence numbers ... */
export const RECORD_CACHE_BLOCK_RECORDS = 256;
/** ... and a block of larger records than this in all is not kept (readers of large records are bound by bytes, not by records). */
export const RECORD_CACHE_BLOCK_MAX_BYTES = 1024 * 1024;

/** One group-commit transaction carries at most this many data bytes; the rest go in the next one, so one commit never stalls the event loop for long. */
export const COMMIT_MAX_BYTES = 64 * 1024 * 1024;

/**
 * Group commits that may be preparing at once (their process output being
 * written to the data files): with two, the disk takes the next batch's
 * bytes while the last one's transaction runs and its appender gathers more.
 */
export const COMMITS_PREPARED_AHEAD = 2;

/** How often the journals' states idle since the last sweep are dropped from memory (journal-states.ts): an idle journal is loaded again in a few µs. */
export const JOURNAL_STATE_SWEEP_MS = 30_000;

/** How often age-based retention runs. Records may outlive their max age by up to this much. */
export const RETENTION_SWEEP_INTERVAL_MS = 10_000;

/** Records one journal can ever hold: record keys are journal_id << 32 | seq (journal-tables.ts). */
export const JOURNAL_MAX_SEQUENCE = 2 ** 32 - 1;

/**
 * Byte-log data (process output) is kept in segment files of this size
 * (data-files.ts). Retention frees space a whole segment at a time, so a
 * journal holds at most its retention plus one segment on disk; 16 MiB is a
 * quarter of a terminal's retention (PTY_RETENTION_BYTES).
 */
export const DATA_SEGMENT_BYTES = 16 * 1024 * 1024;

/**
 * Free space on the state dir's file system that process output never
 * takes (disk-room.ts): the room the state changes after a flood need.
 */
export const DATA_FILES_RESERVE_BYTES = 32 * 1024 * 1024;

/** Segment files kept open at once (least recently used closed first): a few per live process, well under the usual 1024 descriptors. */
export const DATA_FILES_MAX_OPEN = 128;

/**
 * Every this many bytes of byte-log data written, the segments written are
 * fdatasynced in the background (data-files.ts): the disk takes process
 * output while it streams, so a power-cut-durable end (an exec's exit) waits
 * for at most about this much, and no fsynced commit stalls on much more.
 */
export const DATA_SYNC_BYTES = 32 * 1024 * 1024;

/**
 * A commit writes less byte-log data than this to the data files itself,
 * on the daemon's thread (a few microseconds); more, on the thread pool
 * before the commit (batch-commit.ts, prepare). Handing an echoed keystroke
 * to a pool thread cost ~100 µs of its round trip on 2 cores.
 */
export const DATA_ASYNC_WRITE_MIN_BYTES = 64 * 1024;

/**
 * Byte-log data is written and read past the page cache (O_DIRECT, see
 * data-files.ts) in runs of this size and up; smaller ones, such as an echoed
 * keystroke, go through the page cache, where they do not wait for the disk.
 */
export const DATA_DIRECT_MIN_BYTES = 64 * 1024;

/**
 * A removed journal's records are deleted this many per commit, other
 * commits going between (Journals.remove): deleting a million 100-byte
 * records at once held the daemon's thread 682 ms here, ~0.7 µs a record.
 */
export const REMOVAL_RECORDS_PER_COMMIT = 4096;

/**
 * How far back a tail (tails.ts: `tether logs --tail`, `exec attach
 * --tail`, `read --tail` with a correlation id) looks for where it starts.
 * Output with few newlines (a progress bar's carriage returns, binary), or
 * a stream with few records that match, would otherwise have it read the
 * whole journal to show a few; past this, the read starts here.
 */
export const TAIL_SCAN_MAX_BYTES = 16 * 1024 * 1024;
