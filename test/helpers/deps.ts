import { env } from "cloudflare:workers";
import { createDeps, type Deps } from "../../src/platform/deps";
import { sinks } from "../../src/sinks";

/** The same services an entry point builds, for tests that call services directly. */
export const testDeps = (log: Record<string, unknown> = { test: true }): Deps =>
  createDeps(env, { sinks, log });
