// Loaded into a benchmark daemon with NODE_OPTIONS=--import: holds BALLAST_MB of touched memory, as a daemon grown large would.
const mb = Number(process.env.TETHER_BENCH_BALLAST_MB ?? 0);
globalThis.__tetherBenchBallast = Array.from({ length: mb }, () => Buffer.alloc(1024 * 1024, 1));
