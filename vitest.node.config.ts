import { defineConfig } from "vitest/config";

// Contract checks that need Node's tools (an OpenAPI validator, openapi-typescript, the
// TypeScript compiler), none of which belong in workerd. They read packages/client/openapi.json,
// which test/contract/document.test.ts (workerd) keeps equal to the served document.
export default defineConfig({
  test: {
    include: ["test/node/**/*.test.ts"],
    environment: "node",
    testTimeout: 120_000,
    reporters: ["default", ["./test/summary-reporter.ts", { position: "middle" }]],
  },
});
