import { describe, expect, it } from "vitest";
import { handleAnalyticsBatch, handleAnalyticsDlqBatch } from "../../src/analytics/consumer";
import type { IngestMessage } from "../../src/analytics/ingest-queue";
import type { Db } from "../../src/platform/types";
import wranglerToml from "../../wrangler.toml?raw";
import { testDeps } from "../helpers/deps";

/** `max_retries` of one consumer in wrangler.toml (the runtime, not our code, dead-letters). */
function maxRetries(queue: string): number {
  const block = wranglerToml
    .split(/^\[\[/m)
    .filter((b) => b.startsWith("queues.consumers]]"))
    .find((b) => new RegExp(`^\\s*queue\\s*=\\s*"${queue}"\\s*$`, "m").test(b));
  const value = block ? /^\s*max_retries\s*=\s*(\d+)/m.exec(block)?.[1] : undefined;
  // Cloudflare's default when the key is absent.
  return value ? Number(value) : 3;
}

/** ANALYTICS_DB in an outage: every statement fails. */
const down = new Error("D1_ERROR: Network connection lost.");
const brokenDb = {
  $client: {
    prepare: () => ({ bind: () => ({ run: () => Promise.reject(down), all: () => Promise.reject(down) }) }),
    batch: () => Promise.reject(down),
  },
} as unknown as Db;

const message: IngestMessage = {
  v: 1,
  rows: [
    {
      id: crypto.randomUUID(),
      type: "page_view",
      user: null,
      session: "s",
      page: "/",
      element: null,
      source: null,
      props: null,
      at: 1,
      received: 1,
      bot: 0,
    },
  ],
};

/**
 * One delivery of one message, attempt `attempts`, against the broken database; returns the
 * delay the consumer asked for (the test runtime's getQueueResult does not record delays, so
 * the message and batch here record their own calls).
 */
async function delayAfter(queue: string, attempts: number): Promise<number | undefined> {
  const calls: Array<{ kind: string; delaySeconds?: number }> = [];
  const msg = {
    id: `m-${attempts}`,
    timestamp: new Date(),
    attempts,
    body: message,
    ack: () => calls.push({ kind: "ack" }),
    retry: (o?: QueueRetryOptions) => calls.push({ kind: "retry", ...o }),
  };
  const batch = {
    queue,
    messages: [msg],
    ackAll: () => calls.push({ kind: "ack" }),
    retryAll: (o?: QueueRetryOptions) => calls.push({ kind: "retry", ...o }),
  } as unknown as MessageBatch;
  const deps = { ...testDeps(), analyticsDb: brokenDb };
  const run = queue === "analytics-dlq" ? handleAnalyticsDlqBatch : handleAnalyticsBatch;
  // A throw is a retry of the whole batch with no delay.
  await run(batch, deps).catch(() => calls.push({ kind: "retry" }));
  expect(calls.map((c) => c.kind)).toEqual(["retry"]);
  return calls[0]?.delaySeconds;
}

// A 202 promises the events are durable: an ANALYTICS_DB outage must not drop them. The DLQ's
// consumer writes to the same database, so both queues must outlast the outage.
describe("ingest consumer under an ANALYTICS_DB outage", () => {
  for (const queue of ["analytics-ingest", "analytics-dlq"]) {
    it(`${queue}: its retries span at least an hour before the runtime gives up`, async () => {
      const retries = maxRetries(queue);
      expect(retries).toBeLessThanOrEqual(100);
      let total = 0;
      for (let attempt = 1; attempt <= retries; attempt++) {
        const delay = (await delayAfter(queue, attempt)) ?? 0;
        expect(delay).toBeLessThanOrEqual(43_200);
        total += delay;
      }
      expect(total).toBeGreaterThanOrEqual(3600);
    });
  }
});
