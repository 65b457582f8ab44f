import { defineConfig } from "vitest/config";

// Browser tests run in Node (not workerd): they start the platform with wrangler's
// unstable_startWorker and drive Debian's Chromium through playwright-core.
export default defineConfig({
  test: {
    include: ["test/e2e/**/*.e2e.test.ts"],
    environment: "node",
    testTimeout: 120_000,
    hookTimeout: 180_000,
    fileParallelism: false,
    reporters: ["default", ["./test/summary-reporter.ts", { position: "last" }]],
  },
});
