/**
 * What both ends of tether's gRPC (the daemon's server, the CLI's client)
 * agree on, so the two cannot drift apart.
 */

/**
 * The largest RPC message accepted or sent, in either direction. Journal
 * records are capped at 4 MiB and read batches at 1 MiB, so 16 MiB leaves
 * room for a full append batch; a bigger message gets ResourceExhausted.
 */
export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

/**
 * The HTTP/2 flow-control window each end offers per stream, and the CLI
 * per connection too (the daemon keeps its connections' at 64 KiB: see
 * daemon/grpc-server.ts). 64 KiB (the default) caps a stream at one window
 * per round trip; 4 MiB lets a streaming read run at memory speed over the
 * socket.
 */
export const HTTP2_WINDOW_BYTES = 4 * 1024 * 1024;

/**
 * Node's HTTP/2 memory cap per connection, in MB: its default (10) refuses
 * new calls, or resets a stream, on a connection carrying one maximal message.
 */
export const HTTP2_SESSION_MEMORY_MB = 64;
