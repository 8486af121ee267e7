import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration tests each start their own daemon on a temp socket; two
    // cores run two files at a time.
    maxWorkers: 2,
  },
});
